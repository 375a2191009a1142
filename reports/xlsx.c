/*
 * The XLSX workbook for auditors who import the figures and re-derive
 * them: Summary, Workloads, Nodes, Hours and Method sheets. Every number
 * is a typed numeric cell computed as the JSON report computes it
 * (energy_j = energy_uj / 1e6, energy_kwh = energy_uj / 3.6e12), every
 * header names its unit, and no cell is a formula, because importers read
 * the cached result of a formula, which libxlsxwriter writes as 0.
 *
 * libxlsxwriter formats numbers with snprintf in the current locale, so
 * the whole rendering, workbook_close included, runs with LC_NUMERIC "C"
 * on this thread (c_numeric.h).
 */
#include "render.h"

#include "c_numeric.h"
#include "xlsx_analyses.h"
#include "timeutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <xlsxwriter.h>

/* Distinct check names that get their own columns. */
#define MAX_CHECK_NAMES 16

struct xlsx {
        lxw_workbook *wb;
        lxw_format *head;
        lxw_format *wrap;
        lxw_error err;  /* first libxlsxwriter error, or LXW_NO_ERROR */
        char where[64]; /* sheet being written when err was set */
};

/* The check names of a sheet in order of first appearance, with units. */
struct check_columns {
        char name[MAX_CHECK_NAMES][40];
        char unit[MAX_CHECK_NAMES][24];
        size_t n;
};

static void
note(struct xlsx *x, lxw_error err, const char *where)
{
        if (err != LXW_NO_ERROR && x->err == LXW_NO_ERROR) {
                x->err = err;
                snprintf(x->where, sizeof(x->where), "%s", where);
        }
}

static void
put_num(struct xlsx *x, lxw_worksheet *ws, lxw_row_t row, lxw_col_t col,
        double v)
{
        /* NaN and infinity are not valid cell values, so the cell stays
           empty. NOTE: libxlsxwriter 1.1.4 writes numbers with "%.16G", so
           a double that needs 17 significant digits reads back 1 ulp or so
           off the JSON's value. */
        if (!isfinite(v))
                return;
        note(x, worksheet_write_number(ws, row, col, v, NULL), ws->name);
}

static void
put_str(struct xlsx *x, lxw_worksheet *ws, lxw_row_t row, lxw_col_t col,
        const char *s)
{
        if (!s || s[0] == '\0')
                return;
        note(x, worksheet_write_string(ws, row, col, s, NULL), ws->name);
}

static void
put_head(struct xlsx *x, lxw_worksheet *ws, lxw_col_t col, const char *s)
{
        note(x, worksheet_write_string(ws, 0, col, s, x->head), ws->name);
}

static lxw_worksheet *
add_sheet(struct xlsx *x, const char *name)
{
        lxw_worksheet *ws = workbook_add_worksheet(x->wb, name);

        if (!ws)
                note(x, LXW_ERROR_MEMORY_MALLOC_FAILED, name);
        else
                worksheet_freeze_panes(ws, 1, 0);
        return ws;
}

static double
uj_to_j(int64_t uj)
{
        return (double)uj / 1e6;
}

static double
uj_to_kwh(int64_t uj)
{
        return (double)uj / 3.6e12;
}

static enum cl_method
total_method(const struct cl_report_model *m)
{
        if (!m->has_samples || m->energy_uj == 0)
                return CL_METHOD_NONE;
        if (m->measured_share >= 1.0)
                return CL_METHOD_MEASURED;
        if (m->measured_share <= 0.0)
                return CL_METHOD_ESTIMATED;
        return CL_METHOD_MIXED;
}

/* Next free row of the Summary sheet, whose columns are key, value,
   unit, method and note. */
struct summary_row {
        lxw_row_t row;
};

static void
kv_num(struct xlsx *x, lxw_worksheet *ws, struct summary_row *r,
       const char *key, double v, const char *unit, const char *method,
       const char *text)
{
        put_str(x, ws, r->row, 0, key);
        put_num(x, ws, r->row, 1, v);
        put_str(x, ws, r->row, 2, unit);
        put_str(x, ws, r->row, 3, method);
        put_str(x, ws, r->row, 4, text);
        r->row++;
}

static void
kv_str(struct xlsx *x, lxw_worksheet *ws, struct summary_row *r,
       const char *key, const char *v, const char *unit, const char *text)
{
        put_str(x, ws, r->row, 0, key);
        put_str(x, ws, r->row, 1, v);
        put_str(x, ws, r->row, 2, unit);
        put_str(x, ws, r->row, 4, text);
        r->row++;
}

static void
summary_identity(struct xlsx *x, lxw_worksheet *ws, struct summary_row *r,
                 const struct cl_report_model *m)
{
        char buf[32];

        kv_str(x, ws, r, "report_date", m->date, "KST date", NULL);
        kv_str(x, ws, r, "organisation", m->organisation, NULL, NULL);
        kv_str(x, ws, r, "period_start_utc",
               cl_format_utc(m->period_start_ns, buf, sizeof(buf)),
               "UTC, ISO 8601", "inclusive");
        kv_str(x, ws, r, "period_end_utc",
               cl_format_utc(m->period_end_ns, buf, sizeof(buf)),
               "UTC, ISO 8601", "exclusive");
        kv_str(x, ws, r, "period_start_kst",
               cl_format_kst(m->period_start_ns, buf, sizeof(buf)), "KST",
               NULL);
        kv_str(x, ws, r, "timezone", m->timezone ? m->timezone : "Asia/Seoul",
               NULL,
               "Times are stored in UTC and shown in KST (UTC+9, no "
               "daylight saving time).");
        kv_str(x, ws, r, "generated_utc",
               cl_format_utc(m->generated_ns, buf, sizeof(buf)),
               "UTC, ISO 8601", NULL);
        kv_str(x, ws, r, "program_version", m->program_version, NULL, NULL);
        kv_str(x, ws, r, "policy_name", m->policy_name, NULL, NULL);
        kv_str(x, ws, r, "policy_path", m->policy_path, NULL, NULL);
        kv_num(x, ws, r, "has_samples", m->has_samples ? 1 : 0, "flag (0/1)",
               NULL, "0: the day has no samples at all");
}

static void
summary_totals(struct xlsx *x, lxw_worksheet *ws, struct summary_row *r,
               const struct cl_report_model *m)
{
        const char *energy = cl_method_name(total_method(m));
        const char *pue = cl_method_name(m->pue_method);

        kv_num(x, ws, r, "energy_j", uj_to_j(m->energy_uj), "J", energy,
               "IT energy, sum over nodes; energy_uj / 1e6");
        kv_num(x, ws, r, "energy_kwh", m->energy_kwh, "kWh", energy,
               "IT energy; energy_j / 3 600 000");
        kv_num(x, ws, r, "measured_share", m->measured_share, "ratio (0-1)",
               "measured", "energy from RAPL counters / IT energy");
        kv_num(x, ws, r, "emissions_g", m->emissions_g, "gCO2eq", energy,
               "IT basis: energy_kwh x intensity_g_per_kwh");
        kv_num(x, ws, r, "facility_emissions_g", m->facility_emissions_g,
               "gCO2eq", pue, "emissions_g x pue");
        kv_num(x, ws, r, "pue", m->pue, "ratio", pue,
               m->pue_method == CL_METHOD_MEASURED
                   ? "meter_facility_kwh / meter_it_kwh"
                   : "declared in the policy: no facility meter data");
        kv_num(x, ws, r, "meter_facility_kwh", m->meter_facility_kwh, "kWh",
               "measured", "facility meter, sum over the period");
        kv_num(x, ws, r, "meter_it_kwh", m->meter_it_kwh, "kWh", "measured",
               "IT meter, sum over the period");
        kv_num(x, ws, r, "meter_intervals", m->meter_intervals, "count",
               "measured", NULL);
        kv_num(x, ws, r, "pue_target", m->pue_target, "ratio", "declared",
               m->pue_target_origin);
}

static void
summary_intensity(struct xlsx *x, lxw_worksheet *ws, struct summary_row *r,
                  const struct cl_report_model *m)
{
        kv_num(x, ws, r, "intensity_g_per_kwh", m->intensity_g_per_kwh,
               "gCO2eq/kWh", cl_method_name(m->intensity_method),
               m->intensity_label);
        kv_str(x, ws, r, "intensity_source", m->intensity_source, NULL,
               m->intensity_label);
        kv_str(x, ws, r, "accounting_basis",
               m->hourly_basis ? "hourly" : "official", NULL,
               "official: the GIR factor applies to every hour; hourly: "
               "time-matched values, converted with grid_loss");
        kv_num(x, ws, r, "official_g_per_kwh", m->official_g_per_kwh,
               "gCO2eq/kWh", "declared", "GIR factor in force");
        if (m->hourly_basis)
                kv_num(x, ws, r, "grid_loss", m->grid_loss, "ratio (0-1)",
                       "declared", m->grid_loss_origin);
        if (m->has_time_matched)
                kv_num(x, ws, r, "time_matched_g_per_kwh",
                       m->time_matched_g_per_kwh, "gCO2eq/kWh",
                       m->hours_hourly < m->n_hours ? "mixed" : "measured",
                       m->hourly_source);
        else
                kv_str(x, ws, r, "time_matched_g_per_kwh", "", "gCO2eq/kWh",
                       m->intensity_note);
        kv_num(x, ws, r, "hours_with_hourly", (double)m->hours_hourly, "count",
               NULL, m->hourly_source);
        kv_num(x, ws, r, "hours_fallback", (double)m->hours_fallback, "count",
               NULL,
               "hours that applied the official factor for want of "
               "an hourly value");
        kv_num(x, ws, r, "grid_reference_g_per_kwh",
               m->grid_reference_g_per_kwh, "gCO2eq/kWh", "declared",
               m->grid_reference_origin);
        kv_num(x, ws, r, "coverage_threshold", m->coverage_threshold,
               "ratio (0-1)", "declared", "policy minimum coverage");
        kv_num(x, ws, r, "nodes", (double)m->n_nodes, "count", NULL, NULL);
        kv_num(x, ws, r, "workloads", (double)m->n_workloads, "count", NULL,
               NULL);
        for (int s = 0; s < CL_STATUS_COUNT; s++) {
                char key[64];

                snprintf(key, sizeof(key), "workloads_%s",
                         cl_status_name((enum cl_status)s));
                kv_num(x, ws, r, key, (double)m->status_counts[s], "count",
                       NULL, NULL);
        }
}

/* Three rows per site check: target, value and result with reason. */
static void
summary_site_checks(struct xlsx *x, lxw_worksheet *ws, struct summary_row *r,
                    const struct cl_report_model *m)
{
        for (size_t i = 0; i < m->n_site_checks; i++) {
                const struct cl_check *c = &m->site_checks[i];
                char key[80];

                snprintf(key, sizeof(key), "site_check.%.40s.target", c->check);
                if (c->has_target)
                        kv_num(x, ws, r, key, c->target, c->unit, "declared",
                               "organisation policy");
                else
                        kv_str(x, ws, r, key, NULL, c->unit, "no target");
                snprintf(key, sizeof(key), "site_check.%.40s.value", c->check);
                if (c->has_value)
                        kv_num(x, ws, r, key, c->value, c->unit, NULL, NULL);
                else
                        kv_str(x, ws, r, key, NULL, c->unit, "no value");
                snprintf(key, sizeof(key), "site_check.%.40s.result", c->check);
                kv_str(x, ws, r, key, cl_status_name(c->result), NULL,
                       c->reason);
        }
}

static void
write_summary(struct xlsx *x, const struct cl_report_model *m)
{
        static const char *const heads[] = {"Key", "Value", "Unit", "Method",
                                            "Note"};
        static const double widths[] = {28, 26, 16, 12, 70};
        lxw_worksheet *ws = add_sheet(x, "Summary");
        struct summary_row r = {1};

        if (!ws)
                return;
        for (lxw_col_t c = 0; c < 5; c++) {
                put_head(x, ws, c, heads[c]);
                note(x, worksheet_set_column(ws, c, c, widths[c], NULL),
                     "Summary");
        }
        summary_identity(x, ws, &r, m);
        summary_totals(x, ws, &r, m);
        summary_intensity(x, ws, &r, m);
        summary_site_checks(x, ws, &r, m);
}

static void
collect_checks(struct check_columns *cc, const struct cl_check *checks,
               size_t n)
{
        for (size_t i = 0; i < n; i++) {
                size_t k = 0;

                while (k < cc->n && strcmp(cc->name[k], checks[i].check) != 0)
                        k++;
                if (k < cc->n || cc->n == MAX_CHECK_NAMES)
                        continue;
                snprintf(cc->name[k], sizeof(cc->name[k]), "%s",
                         checks[i].check);
                snprintf(cc->unit[k], sizeof(cc->unit[k]), "%s",
                         checks[i].unit);
                cc->n++;
        }
}

/* Four headers per check name, from column first on. */
static void
check_heads(struct xlsx *x, lxw_worksheet *ws, lxw_col_t first,
            const struct check_columns *cc)
{
        for (size_t k = 0; k < cc->n; k++) {
                lxw_col_t c = (lxw_col_t)(first + 4 * k);
                char head[128];

                snprintf(head, sizeof(head), "%s target (%s)", cc->name[k],
                         cc->unit[k]);
                put_head(x, ws, c, head);
                snprintf(head, sizeof(head), "%s value (%s)", cc->name[k],
                         cc->unit[k]);
                put_head(x, ws, c + 1, head);
                snprintf(head, sizeof(head), "%s result", cc->name[k]);
                put_head(x, ws, c + 2, head);
                snprintf(head, sizeof(head), "%s reason", cc->name[k]);
                put_head(x, ws, c + 3, head);
                note(x, worksheet_set_column(ws, c, c + 2, 14, NULL), ws->name);
                note(x, worksheet_set_column(ws, c + 3, c + 3, 50, NULL),
                     ws->name);
        }
}

static void
check_cells(struct xlsx *x, lxw_worksheet *ws, lxw_row_t row, lxw_col_t first,
            const struct check_columns *cc, const struct cl_check *checks,
            size_t n)
{
        for (size_t i = 0; i < n; i++) {
                const struct cl_check *c = &checks[i];
                size_t k = 0;
                lxw_col_t col;

                while (k < cc->n && strcmp(cc->name[k], c->check) != 0)
                        k++;
                if (k == cc->n)
                        continue;
                col = (lxw_col_t)(first + 4 * k);
                if (c->has_target)
                        put_num(x, ws, row, col, c->target);
                if (c->has_value)
                        put_num(x, ws, row, col + 1, c->value);
                put_str(x, ws, row, col + 2, cl_status_name(c->result));
                put_str(x, ws, row, col + 3, c->reason);
        }
}

static void
set_widths(struct xlsx *x, lxw_worksheet *ws, const double *widths, size_t n)
{
        for (size_t c = 0; c < n; c++)
                note(x,
                     worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c,
                                          widths[c], NULL),
                     ws->name);
}

static void
workload_cells(struct xlsx *x, lxw_worksheet *ws, lxw_row_t row,
               const struct cl_workload_report *w)
{
        put_str(x, ws, row, 0, w->node);
        put_str(x, ws, row, 1, w->namespace_);
        put_str(x, ws, row, 2, w->pod);
        put_str(x, ws, row, 3, w->pod_uid);
        put_num(x, ws, row, 4, uj_to_j(w->energy_uj));
        put_num(x, ws, row, 5, uj_to_kwh(w->energy_uj));
        put_num(x, ws, row, 6, w->cpu_s);
        put_num(x, ws, row, 7, w->run_s);
        put_num(x, ws, row, 8, w->run_s / 3600.0);
        put_num(x, ws, row, 9, w->coverage);
        put_num(x, ws, row, 10, w->mean_w);
        put_num(x, ws, row, 11, w->peak_w);
        put_num(x, ws, row, 12, w->emissions_g);
        put_num(x, ws, row, 13, w->emissions_rate_g_per_h);
        put_str(x, ws, row, 14, cl_method_name(w->method));
        put_str(x, ws, row, 15, cl_status_name(w->status));
}

static void
write_workloads(struct xlsx *x, const struct cl_report_model *m)
{
        static const char *const heads[] = {
            "Node",
            "Namespace",
            "Pod",
            "Pod UID",
            "Energy (J)",
            "Energy (kWh)",
            "CPU time (s)",
            "Run time (s)",
            "Run time (h)",
            "Coverage (ratio 0-1)",
            "Mean power (W)",
            "Peak power (W)",
            "Emissions (gCO2eq)",
            "Emissions rate (gCO2eq/h)",
            "Method",
            "Status",
        };
        static const double widths[] = {18, 16, 36, 38, 16, 16, 12, 12,
                                        12, 12, 12, 12, 16, 16, 12, 20};
        const lxw_col_t n_fixed = 16;
        struct check_columns cc = {0};
        lxw_worksheet *ws = add_sheet(x, "Workloads");

        if (!ws)
                return;
        for (size_t i = 0; i < m->n_workloads; i++)
                collect_checks(&cc, m->workloads[i].checks,
                               m->workloads[i].n_checks);
        for (lxw_col_t c = 0; c < n_fixed; c++)
                put_head(x, ws, c, heads[c]);
        set_widths(x, ws, widths, n_fixed);
        check_heads(x, ws, n_fixed, &cc);
        for (size_t i = 0; i < m->n_workloads; i++) {
                lxw_row_t row = (lxw_row_t)(i + 1);

                workload_cells(x, ws, row, &m->workloads[i]);
                check_cells(x, ws, row, n_fixed, &cc, m->workloads[i].checks,
                            m->workloads[i].n_checks);
        }
        note(x,
             worksheet_autofilter(ws, 0, 0, (lxw_row_t)m->n_workloads,
                                  (lxw_col_t)(n_fixed + 4 * cc.n - 1)),
             "Workloads");
}

static void
node_cells(struct xlsx *x, lxw_worksheet *ws, lxw_row_t row,
           const struct cl_node_report *n)
{
        put_str(x, ws, row, 0, n->name);
        put_num(x, ws, row, 1, uj_to_j(n->energy_uj));
        put_num(x, ws, row, 2, uj_to_kwh(n->energy_uj));
        put_num(x, ws, row, 3, uj_to_kwh(n->idle_uj));
        put_num(x, ws, row, 4, uj_to_kwh(n->system_uj));
        put_num(x, ws, row, 5, uj_to_kwh(n->pods_uj));
        put_num(x, ws, row, 6, uj_to_kwh(n->measured_uj));
        put_num(x, ws, row, 7, uj_to_kwh(n->estimated_uj));
        put_str(x, ws, row, 8, cl_method_name(n->method));
        put_num(x, ws, row, 9, n->coverage);
        put_num(x, ws, row, 10, (double)n->sampled_ns / 1e9);
        put_num(x, ws, row, 11, n->intervals);
        put_num(x, ws, row, 12, n->gaps);
        put_num(x, ws, row, 13, (double)n->gap_ns / 1e9);
        put_num(x, ws, row, 14, n->scaled_intervals);
        put_num(x, ws, row, 15, n->mean_w);
        put_num(x, ws, row, 16, n->peak_w);
        put_num(x, ws, row, 17, n->model_idle_w);
        put_num(x, ws, row, 18, n->model_max_w);
        put_num(x, ws, row, 19, n->emissions_g);
}

static void
write_nodes(struct xlsx *x, const struct cl_report_model *m)
{
        static const char *const heads[] = {
            "Node",
            "Energy (J)",
            "Energy (kWh)",
            "Idle energy (kWh)",
            "System energy (kWh)",
            "Pods energy (kWh)",
            "Measured energy (kWh)",
            "Estimated energy (kWh)",
            "Method",
            "Coverage (ratio 0-1)",
            "Sampled time (s)",
            "Intervals (count)",
            "Gaps (count)",
            "Gap time (s)",
            "Scaled intervals (count)",
            "Mean power (W)",
            "Peak power (W)",
            "Power model idle (W)",
            "Power model max (W)",
            "Emissions (gCO2eq)",
        };
        const lxw_col_t n_fixed = 20;
        struct check_columns cc = {0};
        lxw_worksheet *ws = add_sheet(x, "Nodes");

        if (!ws)
                return;
        for (size_t i = 0; i < m->n_nodes; i++)
                collect_checks(&cc, m->nodes[i].checks, m->nodes[i].n_checks);
        for (lxw_col_t c = 0; c < n_fixed; c++) {
                put_head(x, ws, c, heads[c]);
                note(x, worksheet_set_column(ws, c, c, c == 0 ? 24 : 16, NULL),
                     "Nodes");
        }
        check_heads(x, ws, n_fixed, &cc);
        for (size_t i = 0; i < m->n_nodes; i++) {
                node_cells(x, ws, (lxw_row_t)(i + 1), &m->nodes[i]);
                check_cells(x, ws, (lxw_row_t)(i + 1), n_fixed, &cc,
                            m->nodes[i].checks, m->nodes[i].n_checks);
        }
}

static void
write_hours(struct xlsx *x, const struct cl_report_model *m)
{
        static const char *const heads[] = {
            "Start (UTC, ISO 8601)",
            "Hour (KST, 0-23)",
            "Sampled (s)",
            "Energy (J)",
            "Energy (kWh)",
            "Time-matched intensity, source side (gCO2eq/kWh)",
            "Time-matched basis",
            "Time-matched quality",
            "Applied intensity (gCO2eq/kWh)",
            "Applied source",
            "Applied method",
            "Fell back to official factor",
            "Emissions (gCO2eq)",
        };
        static const double widths[] = {22, 16, 12, 16, 16, 26, 14,
                                        14, 22, 14, 14, 14, 18};
        const lxw_col_t n = (lxw_col_t)(sizeof(heads) / sizeof(heads[0]));
        lxw_worksheet *ws = add_sheet(x, "Hours");

        if (!ws)
                return;
        for (lxw_col_t c = 0; c < n; c++)
                put_head(x, ws, c, heads[c]);
        set_widths(x, ws, widths, n);
        for (size_t i = 0; i < m->n_hours; i++) {
                const struct cl_hour_report *h = &m->hours[i];
                int64_t kst_s = (h->start_ns + CL_KST_OFFSET_NS) / CL_NS_PER_S;
                lxw_row_t row = (lxw_row_t)(i + 1);
                char utc[32];

                put_str(x, ws, row, 0,
                        cl_format_utc(h->start_ns, utc, sizeof(utc)));
                put_num(x, ws, row, 1,
                        (double)((kst_s % 86400 + 86400) % 86400 / 3600));
                put_num(x, ws, row, 2, (double)h->sampled_ns / 1e9);
                /* Cells of an hour without samples stay empty, not 0. */
                if (h->sampled_ns > 0) {
                        put_num(x, ws, row, 3, uj_to_j(h->energy_uj));
                        put_num(x, ws, row, 4, uj_to_kwh(h->energy_uj));
                        put_num(x, ws, row, 12, h->emissions_g);
                }
                if (h->has_hourly) {
                        put_num(x, ws, row, 5, h->hourly_g_per_kwh);
                        put_str(x, ws, row, 6, h->hourly_basis);
                        put_str(x, ws, row, 7, h->hourly_quality);
                } else {
                        put_str(x, ws, row, 7, "missing");
                }
                put_num(x, ws, row, 8, h->intensity_g_per_kwh);
                put_str(x, ws, row, 9, h->intensity_source);
                put_str(x, ws, row, 10, cl_method_name(h->intensity_method));
                put_str(x, ws, row, 11, h->fell_back ? "yes" : "no");
        }
}

static void
write_method(struct xlsx *x, const struct cl_report_model *m)
{
        static const char *const rows[][2] = {
            {"measured", "Read from the RAPL energy counters (CPU package "
                         "and DRAM) of a node, or from a facility meter."},
            {"attributed", "A share of measured node energy by CPU time: a "
                           "pod gets the share of its containers' CPU time, "
                           "idle the share of idle and iowait time, system "
                           "the rest."},
            {"estimated", "From the power model P = P_idle + (P_max - "
                          "P_idle) x busy ratio where no RAPL reading "
                          "exists, or a share of such energy."},
            {"declared", "A value configured in the policy: PUE without "
                         "meter data, the emission factor, the grid "
                         "reference, the PUE target, the minimum "
                         "coverage."},
            {"mixed", "Measured in some intervals and estimated in others; "
                      "see measured_share and the measured and estimated "
                      "energy columns."},
            {"none", "No data."},
            {"energy_kwh", "energy_j / 3 600 000 (energy_uj / 3.6e12)."},
            {"emissions_g", "energy_kwh x intensity_g_per_kwh, IT basis."},
            {"facility_emissions_g", "emissions_g x pue, applied once."},
            {"pue (measured)", "meter_facility_kwh / meter_it_kwh."},
            {"emissions_rate_g_per_h", "emissions_g / (run time in s / "
                                       "3600)."},
            {"coverage", "Node: sampled time / period. Workload: run time / "
                         "time from its first to its last appearance."},
            {"grid reference, PUE target", "Organisation policy, not legal "
                                           "pass marks."},
            {"time", "Stored in UTC; KST is UTC+9 without daylight saving "
                     "time."},
        };
        lxw_worksheet *ws = add_sheet(x, "Method");
        lxw_row_t row = 1;
        char factor[400];

        if (!ws)
                return;
        put_head(x, ws, 0, "Term");
        put_head(x, ws, 1, "Meaning");
        note(x, worksheet_set_column(ws, 0, 0, 28, NULL), "Method");
        note(x, worksheet_set_column(ws, 1, 1, 100, x->wrap), "Method");
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++, row++) {
                put_str(x, ws, row, 0, rows[i][0]);
                put_str(x, ws, row, 1, rows[i][1]);
        }
        snprintf(factor, sizeof(factor), "%.60s: %.250s (%.1f gCO2eq/kWh, %s)",
                 m->intensity_source, m->intensity_label,
                 m->intensity_g_per_kwh, cl_method_name(m->intensity_method));
        put_str(x, ws, row, 0, "emission factor source");
        put_str(x, ws, row, 1, factor);
}

static lxw_error
set_properties(struct xlsx *x, const struct cl_report_model *m)
{
        char title[96];
        lxw_doc_properties props = {0};

        snprintf(title, sizeof(title), "Energy and carbon audit %s", m->date);
        props.title = title;
        props.subject = "Energy and carbon audit of one KST day";
        props.author = "carbonledger";
        props.company = (char *)m->organisation;
        props.created = (time_t)(m->generated_ns / CL_NS_PER_S);
        return workbook_set_properties(x->wb, &props);
}

static void
add_formats(struct xlsx *x)
{
        x->head = workbook_add_format(x->wb);
        x->wrap = workbook_add_format(x->wb);
        if (!x->head || !x->wrap) {
                note(x, LXW_ERROR_MEMORY_MALLOC_FAILED, "formats");
                return;
        }
        format_set_bold(x->head);
        format_set_bottom(x->head, LXW_BORDER_THIN);
        format_set_text_wrap(x->wrap);
}

static cl_err
render(const struct cl_report_model *m, const char *path)
{
        lxw_workbook_options options = {0};
        struct xlsx x = {0};
        lxw_error err;

        /* Not constant_memory: that mode writes rows as they come and
           keeps strings inline; these sheets are small and are written
           in row order anyway. */
        x.wb = workbook_new_opt(path, &options);
        if (!x.wb)
                return cl_fail(CL_ENOMEM,
                               "cannot write XLSX workbook %s: cannot create "
                               "the workbook",
                               path);
        add_formats(&x);
        note(&x, set_properties(&x, m), "properties");
        write_summary(&x, m);
        write_workloads(&x, m);
        write_nodes(&x, m);
        write_hours(&x, m);
        write_method(&x, m);
        note(&x, cl_xlsx_write_analyses(x.wb, x.head, m), "Analyses");
        if (x.err != LXW_NO_ERROR) {
                /* Free without writing a half-filled file. */
                lxw_workbook_free(x.wb);
                return cl_fail(CL_ERENDER,
                               "cannot write XLSX workbook %s: %s (%s)", path,
                               lxw_strerror(x.err), x.where);
        }
        err = workbook_close(x.wb);
        if (err == LXW_ERROR_CREATING_XLSX_FILE)
                return cl_fail(CL_EIO, "cannot write XLSX workbook %s: %s",
                               path, lxw_strerror(err));
        if (err != LXW_NO_ERROR)
                return cl_fail(CL_ERENDER, "cannot write XLSX workbook %s: %s",
                               path, lxw_strerror(err));
        return CL_OK;
}

cl_err
cl_render_xlsx(const struct cl_report_model *m, const char *path)
{
        struct cl_c_numeric numeric;
        cl_err err;

        if (!m || !path)
                return cl_fail(CL_EINVAL,
                               "cannot write XLSX workbook %s: no model",
                               path ? path : "(null)");
        err = cl_c_numeric_enter(&numeric);
        if (err != CL_OK)
                return err;
        err = render(m, path);
        cl_c_numeric_leave(&numeric);
        return err;
}
