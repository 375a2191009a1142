/*
 * The Analyses sheet of the XLSX workbook (xlsx_analyses.c).
 */
#ifndef CL_XLSX_ANALYSES_H
#define CL_XLSX_ANALYSES_H

#include "report_model.h"

#include <xlsxwriter.h>

/*
 * Adds the Analyses sheet to wb when m->analyses is not NULL: one row per
 * figure (analysis, item, value as a typed number or text, unit, method),
 * and one row per analysis without a result saying why. head formats the
 * header row. Returns the first libxlsxwriter error, or LXW_NO_ERROR.
 */
lxw_error cl_xlsx_write_analyses(lxw_workbook *wb, lxw_format *head,
                                 const struct cl_report_model *m);

#endif
