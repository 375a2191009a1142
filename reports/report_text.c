/*
 * Loading and lookup of report-text.json. The file is checked once at load
 * time, so lookups only fail for a key the file does not have.
 */
#include "report_text.h"

#include "fsutil.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

/* The file is a few kilobytes; anything much larger is not a text file. */
#define TEXT_FILE_MAX_BYTES (1024 * 1024)

struct cl_report_text {
        struct json_object *root;
        struct json_object *texts;       /* object: key -> {ko, en} */
        struct json_object *methodology; /* array of {title, body} */
        char path[1024];
};

static const char *
lang_key(enum cl_lang lang)
{
        return lang == CL_LANG_KO ? "ko" : "en";
}

/* Returns 1 when pair is an object with a "ko" and an "en" string. */
static int
is_pair(struct json_object *pair)
{
        struct json_object *v;

        if (!json_object_is_type(pair, json_type_object))
                return 0;
        if (!json_object_object_get_ex(pair, "ko", &v) ||
            !json_object_is_type(v, json_type_string))
                return 0;
        if (!json_object_object_get_ex(pair, "en", &v) ||
            !json_object_is_type(v, json_type_string))
                return 0;
        return 1;
}

static cl_err
check_texts(const struct cl_report_text *t)
{
        json_object_object_foreach(t->texts, key, pair)
        {
                if (!is_pair(pair))
                        return cl_fail(CL_EFORMAT,
                                       "invalid report texts %s: text %s "
                                       "needs a \"ko\" and an \"en\" string",
                                       t->path, key);
        }
        return CL_OK;
}

static cl_err
check_methodology(const struct cl_report_text *t)
{
        size_t n = json_object_array_length(t->methodology);

        for (size_t i = 0; i < n; i++) {
                struct json_object *p, *title, *body;

                p = json_object_array_get_idx(t->methodology, i);
                if (!json_object_object_get_ex(p, "title", &title) ||
                    !json_object_object_get_ex(p, "body", &body) ||
                    !is_pair(title) || !is_pair(body))
                        return cl_fail(CL_EFORMAT,
                                       "invalid report texts %s: methodology "
                                       "paragraph %zu needs a title and a "
                                       "body, each with \"ko\" and \"en\"",
                                       t->path, i + 1);
        }
        return CL_OK;
}

static cl_err
parse_root(struct cl_report_text *t, const char *data)
{
        enum json_tokener_error jerr = json_tokener_success;

        t->root = json_tokener_parse_verbose(data, &jerr);
        if (!t->root)
                return cl_fail(CL_EFORMAT, "invalid report texts %s: %s",
                               t->path, json_tokener_error_desc(jerr));
        if (!json_object_object_get_ex(t->root, "texts", &t->texts) ||
            !json_object_is_type(t->texts, json_type_object))
                return cl_fail(CL_EFORMAT,
                               "invalid report texts %s: missing object "
                               "\"texts\"",
                               t->path);
        if (!json_object_object_get_ex(t->root, "methodology",
                                       &t->methodology) ||
            !json_object_is_type(t->methodology, json_type_array))
                return cl_fail(CL_EFORMAT,
                               "invalid report texts %s: missing array "
                               "\"methodology\"",
                               t->path);
        return CL_OK;
}

cl_err
cl_report_text_load(const char *template_dir, struct cl_report_text **out)
{
        struct cl_report_text *t;
        char *data = NULL;
        size_t len = 0;
        cl_err err;

        *out = NULL;
        t = calloc(1, sizeof(*t));
        if (!t)
                return cl_fail(CL_ENOMEM, "cannot allocate report texts");
        err = cl_path_join(t->path, sizeof(t->path), template_dir,
                           "report-text.json");
        if (err != CL_OK)
                goto out;
        err = cl_read_file(t->path, TEXT_FILE_MAX_BYTES, &data, &len);
        if (err != CL_OK)
                goto out;
        err = parse_root(t, data);
        if (err != CL_OK)
                goto out;
        err = check_texts(t);
        if (err != CL_OK)
                goto out;
        err = check_methodology(t);
out:
        free(data);
        if (err != CL_OK)
                cl_report_text_free(t);
        else
                *out = t;
        return err;
}

void
cl_report_text_free(struct cl_report_text *t)
{
        if (!t)
                return;
        json_object_put(t->root);
        free(t);
}

const char *
cl_report_text_get(const struct cl_report_text *t, const char *key,
                   enum cl_lang lang)
{
        struct json_object *pair, *v;

        if (!json_object_object_get_ex(t->texts, key, &pair))
                return NULL;
        if (!json_object_object_get_ex(pair, lang_key(lang), &v))
                return NULL;
        return json_object_get_string(v);
}

size_t
cl_report_text_paragraphs(const struct cl_report_text *t)
{
        return json_object_array_length(t->methodology);
}

const char *
cl_report_text_paragraph(const struct cl_report_text *t, size_t i, int is_title,
                         enum cl_lang lang)
{
        struct json_object *p, *part, *v;

        p = json_object_array_get_idx(t->methodology, i);
        if (!p ||
            !json_object_object_get_ex(p, is_title ? "title" : "body", &part))
                return NULL;
        if (!json_object_object_get_ex(part, lang_key(lang), &v))
                return NULL;
        return json_object_get_string(v);
}

const char *
cl_report_text_path(const struct cl_report_text *t)
{
        return t->path;
}
