/*
 * The analyses part of the report model: its JSON form and release.
 */
#include "analyses_model.h"

#include <stdlib.h>

static json_object *
row_to_json(const struct cl_analysis_row *r)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "item", json_object_new_string(r->item));
        if (r->has_number)
                json_object_object_add(o, "value",
                                       json_object_new_double(r->number));
        else
                json_object_object_add(o, "value",
                                       json_object_new_string(r->text));
        json_object_object_add(o, "unit", json_object_new_string(r->unit));
        json_object_object_add(o, "method", json_object_new_string(r->method));
        return o;
}

json_object *
cl_analyses_to_json(const struct cl_analyses_report *a)
{
        json_object *list = json_object_new_array();

        if (list == NULL)
                return NULL;
        for (size_t i = 0; i < a->n_sections; i++) {
                const struct cl_analysis_section *s = &a->sections[i];
                json_object *o = json_object_new_object();
                json_object *rows = json_object_new_array();

                json_object_object_add(o, "analysis",
                                       json_object_new_string(s->analysis));
                json_object_object_add(o, "title",
                                       json_object_new_string(s->title));
                json_object_object_add(o, "arguments",
                                       json_object_new_string(s->arguments));
                json_object_object_add(o, "ok", json_object_new_boolean(s->ok));
                json_object_object_add(o, "message",
                                       json_object_new_string(s->message));
                for (size_t r = 0; r < s->n_rows; r++)
                        json_object_array_add(rows, row_to_json(&s->rows[r]));
                json_object_object_add(o, "rows", rows);
                json_object_array_add(list, o);
        }
        return list;
}

void
cl_analyses_report_free(struct cl_analyses_report *a)
{
        if (a == NULL)
                return;
        for (size_t i = 0; i < a->n_sections; i++)
                free(a->sections[i].rows);
        free(a->sections);
        free(a);
}
