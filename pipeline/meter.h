/*
 * Facility meter data and PUE.
 *
 * A meter CSV has the header interval_start,interval_end,facility_kwh,
 * it_kwh: times in ISO 8601 with an offset, energy within the interval in
 * kWh, IT energy metered at the UPS or PDU output. PUE over a period is
 * sum(facility) / sum(IT) (ISO/IEC 30134-2), never a mean of ratios.
 */
#ifndef CL_METER_H
#define CL_METER_H

#include "err.h"

#include <sqlite3.h>
#include <stdint.h>

/*
 * Imports csv_path into db in one transaction: every row is checked first
 * and a bad row fails the whole import with CL_EFORMAT naming the file,
 * the line and the reason, so nothing is stored. Rows are rejected when
 * implausible (PUE above 10, it_kwh 0, above 1 GW, longer than 31 days)
 * or when their intervals overlap each other or a stored interval; a row
 * for exactly a stored interval replaces it. *rows is the number of rows
 * imported, *replaced how many of them replaced stored intervals.
 */
cl_err cl_meter_import(sqlite3 *db, const char *csv_path, int *rows,
                       int *replaced) CL_MUST_CHECK;

struct cl_meter_totals {
        int intervals;       /* meter intervals overlapping the period */
        int64_t covered_ns;  /* time of the period they cover */
        double facility_kwh; /* pro rata by overlap */
        double it_kwh;
};

/*
 * Sums the meter data overlapping [start_ns, end_ns), taking a partly
 * overlapping interval pro rata by time.
 */
cl_err cl_meter_totals(sqlite3 *db, int64_t start_ns, int64_t end_ns,
                       struct cl_meter_totals *out) CL_MUST_CHECK;

#endif
