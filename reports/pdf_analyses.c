/*
 * The analyses section of the PDF report: for each analysis its title,
 * the arguments it ran with, and one line per figure with value, unit and
 * method, or the reason it has no result for the day.
 *
 * NOTE: the headings are fixed Korean and English strings here, not keys
 * of report-text.json, so they are not translated with the other texts.
 */
#include "pdf_analyses.h"

#include "analyses_model.h"
#include "pdf_text.h"

#include <stdio.h>

#define HEADING_SIZE 12.0
#define TITLE_SIZE 10.0
#define TEXT_SIZE 8.5
#define NOTE_GRAY 0.35

static void
draw_row(struct cl_pdf_doc *d, const struct cl_analysis_row *r)
{
        char line[CL_PDF_CELL_MAX];

        if (r->has_number)
                cl_text_printf(line, sizeof(line), "%s: %.12g %s (%s)", r->item,
                               r->number, r->unit, r->method);
        else
                cl_text_printf(line, sizeof(line), "%s: %s%s%s%s", r->item,
                               r->text, r->method[0] ? " (" : "", r->method,
                               r->method[0] ? ")" : "");
        cl_pdf_paragraph(d, d->regular, TEXT_SIZE, 0.0, line);
}

static void
draw_section(struct cl_pdf_doc *d, const struct cl_analysis_section *s)
{
        char line[CL_PDF_CELL_MAX];

        cl_pdf_need(d, 48.0);
        cl_pdf_paragraph(d, d->bold, TITLE_SIZE, 0.0, s->title);
        cl_text_printf(line, sizeof(line), "%s %s", s->analysis, s->arguments);
        cl_pdf_paragraph(d, d->regular, TEXT_SIZE, NOTE_GRAY, line);
        if (!s->ok) {
                cl_text_printf(line, sizeof(line), "Not available: %s",
                               s->message);
                cl_pdf_paragraph(d, d->regular, TEXT_SIZE, NOTE_GRAY, line);
        }
        for (size_t i = 0; i < s->n_rows && !cl_pdf_failed(d); i++)
                draw_row(d, &s->rows[i]);
        cl_pdf_skip(d, 6.0);
}

void
cl_pdf_draw_analyses(struct cl_pdf_doc *d, const struct cl_report_model *m)
{
        const struct cl_analyses_report *a = m->analyses;

        if (a == NULL)
                return;
        cl_pdf_need(d, 80.0);
        cl_pdf_paragraph(d, d->bold, HEADING_SIZE, 0.0, "분석  Analyses");
        cl_pdf_paragraph(d, d->regular, TEXT_SIZE, NOTE_GRAY,
                         "The eight analyses of carbonledger over the "
                         "report's day, as `carbonledger query NAME` "
                         "returns them; the method of each figure is in "
                         "brackets.");
        cl_pdf_skip(d, 4.0);
        for (size_t i = 0; i < a->n_sections && !cl_pdf_failed(d); i++)
                draw_section(d, &a->sections[i]);
}
