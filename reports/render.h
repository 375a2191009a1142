/*
 * Renderers: each writes one report file from a report model to path
 * (the caller passes a temporary name and renames it when every file is
 * complete and signed). None of them reads the database.
 */
#ifndef CL_RENDER_H
#define CL_RENDER_H

#include "err.h"
#include "report_model.h"

struct cl_render_options {
        const char *font_path;      /* TrueType (glyf) font, e.g. NanumGothic */
        const char *font_bold_path; /* bold face of the same family */
        const char *template_dir;   /* folder of report-text.json */
        const char *attach_path;    /* file embedded in the PDF, or NULL */
        const char *attach_name;    /* bare file name stored for it */
};

/*
 * Writes the PDF report (unsigned). Korean and English text in the given
 * font; a summary, the workload table over as many pages as needed,
 * verdicts with reasons, and the methodology section.
 */
cl_err cl_render_pdf(const struct cl_report_model *m,
                     const struct cl_render_options *opt,
                     const char *path) CL_MUST_CHECK;

/*
 * Writes the XLSX workbook: typed numeric cells with units in the headers;
 * Summary, Workloads, Nodes, Hours and Method sheets. Numbers are written
 * in the C numeric locale whatever the environment's locale.
 */
cl_err cl_render_xlsx(const struct cl_report_model *m,
                      const char *path) CL_MUST_CHECK;

/* Writes the JSON report. */
cl_err cl_render_json(const struct cl_report_model *m,
                      const char *path) CL_MUST_CHECK;

#endif
