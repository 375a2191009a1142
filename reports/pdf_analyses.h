/*
 * The analyses section of the PDF report (pdf_analyses.c), drawn after
 * the hourly table when the model has an analyses part.
 */
#ifndef CL_PDF_ANALYSES_H
#define CL_PDF_ANALYSES_H

#include "pdf_layout.h"
#include "report_model.h"

/* Draws one subsection per analysis; draws nothing when m->analyses is
   NULL. Failures are recorded in d like every other section's. */
void cl_pdf_draw_analyses(struct cl_pdf_doc *d,
                          const struct cl_report_model *m);

#endif
