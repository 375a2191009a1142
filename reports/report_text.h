/*
 * The bilingual texts of the PDF report, loaded from report-text.json in
 * the template folder: headings, labels and methodology paragraphs, each
 * in Korean and English. Internal to the renderers.
 */
#ifndef CL_REPORT_TEXT_H
#define CL_REPORT_TEXT_H

#include "err.h"

#include <stddef.h>

enum cl_lang {
        CL_LANG_KO,
        CL_LANG_EN,
};

struct cl_report_text;

/*
 * Loads template_dir/report-text.json. Every entry of "texts" and every
 * methodology paragraph must have a "ko" and an "en" string. On success
 * *out is owned by the caller (cl_report_text_free). Fails with CL_EIO
 * when the file cannot be read, CL_EFORMAT when it is not such a JSON
 * document, CL_ENOMEM; the message names the file.
 */
cl_err cl_report_text_load(const char *template_dir,
                           struct cl_report_text **out) CL_MUST_CHECK;

/* Frees t; NULL is ignored. */
void cl_report_text_free(struct cl_report_text *t);

/*
 * Returns the text of key in lang, or NULL when the file has no such key.
 * The pointer is owned by t.
 */
const char *cl_report_text_get(const struct cl_report_text *t, const char *key,
                               enum cl_lang lang);

/* Returns the number of methodology paragraphs. */
size_t cl_report_text_paragraphs(const struct cl_report_text *t);

/*
 * Returns the title (is_title != 0) or body of methodology paragraph i in
 * lang; i must be below cl_report_text_paragraphs(t). Owned by t.
 */
const char *cl_report_text_paragraph(const struct cl_report_text *t, size_t i,
                                     int is_title, enum cl_lang lang);

/* Returns the path of the loaded file, for error messages. */
const char *cl_report_text_path(const struct cl_report_text *t);

#endif
