/*
 * The Analyses sheet: the analyses part of the report model as typed
 * cells, one figure per row, with the unit and method beside each value.
 * Runs inside the XLSX renderer, so LC_NUMERIC is already "C".
 */
#include "xlsx_analyses.h"

#include "analyses_model.h"

#include <math.h>

static const char *const heads[] = {"analysis", "arguments", "item", "value",
                                    "unit",     "method",    "note"};

static void
keep(lxw_error *first, lxw_error err)
{
        if (*first == LXW_NO_ERROR)
                *first = err;
}

static void
text(lxw_error *err, lxw_worksheet *ws, lxw_row_t row, lxw_col_t col,
     const char *s)
{
        if (s != NULL && s[0] != '\0')
                keep(err, worksheet_write_string(ws, row, col, s, NULL));
}

static lxw_row_t
write_section(lxw_error *err, lxw_worksheet *ws, lxw_row_t row,
              const struct cl_analysis_section *s)
{
        if (!s->ok) {
                text(err, ws, row, 0, s->analysis);
                text(err, ws, row, 1, s->arguments);
                text(err, ws, row, 6, s->message);
                return row + 1;
        }
        for (size_t i = 0; i < s->n_rows; i++, row++) {
                const struct cl_analysis_row *r = &s->rows[i];

                text(err, ws, row, 0, s->analysis);
                text(err, ws, row, 1, s->arguments);
                text(err, ws, row, 2, r->item);
                if (r->has_number && isfinite(r->number))
                        keep(err, worksheet_write_number(ws, row, 3, r->number,
                                                         NULL));
                else
                        text(err, ws, row, 3, r->text);
                text(err, ws, row, 4, r->unit);
                text(err, ws, row, 5, r->method);
        }
        return row;
}

lxw_error
cl_xlsx_write_analyses(lxw_workbook *wb, lxw_format *head,
                       const struct cl_report_model *m)
{
        const struct cl_analyses_report *a = m->analyses;
        lxw_error err = LXW_NO_ERROR;
        lxw_worksheet *ws;
        lxw_row_t row = 1;

        if (a == NULL)
                return LXW_NO_ERROR;
        ws = workbook_add_worksheet(wb, "Analyses");
        if (ws == NULL)
                return LXW_ERROR_MEMORY_MALLOC_FAILED;
        worksheet_freeze_panes(ws, 1, 0);
        for (lxw_col_t c = 0; c < sizeof(heads) / sizeof(heads[0]); c++)
                keep(&err, worksheet_write_string(ws, 0, c, heads[c], head));
        keep(&err, worksheet_set_column(ws, 0, 0, 30, NULL));
        keep(&err, worksheet_set_column(ws, 1, 1, 28, NULL));
        keep(&err, worksheet_set_column(ws, 2, 2, 40, NULL));
        keep(&err, worksheet_set_column(ws, 6, 6, 60, NULL));
        for (size_t i = 0; i < a->n_sections; i++)
                row = write_section(&err, ws, row, &a->sections[i]);
        return err;
}
