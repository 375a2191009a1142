/*
 * The PDF audit report for compliance officers: a summary with the unit
 * and method of every figure, the nodes, the workload table and verdicts,
 * the hourly table and the methodology, in Korean with English beside or
 * below it. Texts come from report-text.json in the template folder; the
 * layout is in pdf_layout.c. The file is written once by HPDF_SaveToFile
 * and nothing is appended after it, because the signer adds its signature
 * as an incremental update.
 */
#include "render.h"

#include "c_numeric.h"
#include "pdf_analyses.h"
#include "pdf_layout.h"
#include "pdf_text.h"
#include "report_text.h"
#include "timeutil.h"

#include <errno.h>
#include <hpdf.h>
#include <hpdf_namedict.h>
#include <hpdf_objects.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TEXT_SIZE 8.5
#define SECTION_SIZE 12.0
#define SUBSECTION_SIZE 10.0
/* Room kept under a section heading for its first rows. */
#define FOLLOW 60.0

/* A label in both languages: "혼합 mixed". */
struct label {
        char text[160];
};

static const char *
method_label(struct cl_pdf_doc *d, enum cl_method method, struct label *out)
{
        char key[48];

        cl_text_printf(key, sizeof(key), "method.%s", cl_method_name(method));
        cl_text_printf(out->text, sizeof(out->text), "%s %s",
                       cl_pdf_text(d, key, CL_LANG_KO), cl_method_name(method));
        return out->text;
}

/* "미준수 NON_COMPLIANT"; separator is " " or "\n" (Korean above). */
static const char *
status_text(struct cl_pdf_doc *d, enum cl_status status, const char *separator,
            struct label *out)
{
        char key[48];

        cl_text_printf(key, sizeof(key), "status.%s", cl_status_name(status));
        cl_text_printf(out->text, sizeof(out->text), "%s%s%s",
                       cl_pdf_text(d, key, CL_LANG_KO), separator,
                       cl_status_name(status));
        return out->text;
}

static const char *
status_label(struct cl_pdf_doc *d, enum cl_status status, struct label *out)
{
        return status_text(d, status, " ", out);
}

/* Writes v with decimals digits and ',' between groups of three. */
static const char *
grouped(double v, int decimals, char *buf, size_t size)
{
        char plain[64];
        size_t int_digits, out = 0, i = 0;

        cl_text_printf(plain, sizeof(plain), "%.*f", decimals, v);
        if (plain[0] == '-')
                buf[out++] = plain[i++];
        int_digits = strcspn(plain + i, ".");
        for (size_t k = 0; plain[i] != '\0' && out + 2 < size; k++) {
                if (k > 0 && k < int_digits && (int_digits - k) % 3 == 0)
                        buf[out++] = ',';
                buf[out++] = plain[i++];
        }
        buf[out] = '\0';
        return buf;
}

static double
uj_to_kwh(int64_t uj)
{
        return (double)uj / 3.6e12;
}

/* "12.345 kgCO2eq" over "12,345.6 gCO2eq": the kilogram figure is g / 1000. */
static const char *
mass_text(double g, char *buf, size_t size)
{
        char grams[64];

        cl_text_printf(buf, size, "%.3f kgCO2eq\n%s gCO2eq", g / 1000.0,
                       grouped(g, 1, grams, sizeof(grams)));
        return buf;
}

/* A check's target or value in its unit; "-" when there is none. */
static const char *
check_number(int has, double v, const char *unit, char *buf, size_t size)
{
        if (!has)
                cl_text_printf(buf, size, "-");
        else if (strcmp(unit, "ratio") == 0)
                cl_text_printf(buf, size, "%.3f", v);
        else
                cl_text_printf(buf, size, "%.2f %s", v, unit);
        return buf;
}

/* The method of the total IT energy, from the measured share. */
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

/* "14:00Z"-style UTC time with minutes, for the period line. */
static const char *
utc_minutes(int64_t ns, char *buf, size_t size)
{
        cl_format_utc(ns, buf, size);
        if (strlen(buf) == 20 && strcmp(buf + 16, ":00Z") == 0) {
                buf[16] = 'Z';
                buf[17] = '\0';
        }
        return buf;
}

/*
 * "2025-10-23 00:00 – 24:00 KST (UTC 2025-10-22T15:00Z –
 * 2025-10-23T15:00Z)"; a period that is not one whole KST day shows both
 * ends in full.
 */
static void
period_text(const struct cl_report_model *m, char *buf, size_t size)
{
        char start[32], end[32], us[32], ue[32];

        cl_format_kst(m->period_start_ns, start, sizeof(start));
        if (m->period_end_ns - m->period_start_ns == CL_NS_PER_DAY &&
            strcmp(start + 11, "00:00") == 0)
                cl_text_printf(end, sizeof(end), "24:00");
        else
                cl_format_kst(m->period_end_ns, end, sizeof(end));
        cl_text_printf(buf, size, "%s \u2013 %s KST (UTC %s \u2013 %s)", start,
                       end, utc_minutes(m->period_start_ns, us, sizeof(us)),
                       utc_minutes(m->period_end_ns, ue, sizeof(ue)));
}

/* One row of the summary table: item, value, method, basis. */
static void
summary_row(struct cl_pdf_doc *d, const char *key, const char *value,
            const char *method, const char *basis)
{
        char item[256];
        const char *cells[4];

        cl_text_printf(item, sizeof(item), "%s\n%s",
                       cl_pdf_text(d, key, CL_LANG_KO),
                       cl_pdf_text(d, key, CL_LANG_EN));
        cells[0] = item;
        cells[1] = value;
        cells[2] = method;
        cells[3] = basis;
        cl_pdf_table_row(d, cells);
}

static void
draw_no_samples(struct cl_pdf_doc *d)
{
        cl_pdf_skip(d, 4);
        cl_pdf_paragraph(d, d->bold, 10, 0.0,
                         cl_pdf_text(d, "no_samples", CL_LANG_KO));
        cl_pdf_paragraph(d, d->bold, 9.5, 0.0,
                         cl_pdf_text(d, "no_samples", CL_LANG_EN));
        cl_pdf_skip(d, 6);
}

static void
summary_energy(struct cl_pdf_doc *d, const struct cl_report_model *m)
{
        int64_t measured = 0, estimated = 0;
        char value[128], basis[512], j[64], share[64];
        struct label method;

        for (size_t i = 0; i < m->n_nodes; i++) {
                measured += m->nodes[i].measured_uj;
                estimated += m->nodes[i].estimated_uj;
        }
        cl_text_printf(value, sizeof(value), "%.4f kWh\n%s J", m->energy_kwh,
                       grouped((double)m->energy_uj / 1e6, 0, j, sizeof(j)));
        cl_text_printf(
            basis, sizeof(basis),
            "Sum over %zu nodes: measured (RAPL) %.4f kWh, estimated "
            "(power model) %.4f kWh.",
            m->n_nodes, uj_to_kwh(measured), uj_to_kwh(estimated));
        summary_row(d, "summary.it_energy", value,
                    method_label(d, total_method(m), &method), basis);
        cl_text_printf(share, sizeof(share), "%.1f %%",
                       m->measured_share * 100.0);
        summary_row(d, "summary.measured_share", share,
                    method_label(d, CL_METHOD_MEASURED, &method),
                    "Energy read from RAPL counters / IT energy.");
}

static void
summary_emissions(struct cl_pdf_doc *d, const struct cl_report_model *m)
{
        char value[128], basis[512];
        struct label method, factor;

        mass_text(m->emissions_g, value, sizeof(value));
        cl_text_printf(basis, sizeof(basis),
                       "IT energy %.4f kWh x emission factor %.1f gCO2eq/kWh "
                       "(%s).",
                       m->energy_kwh, m->intensity_g_per_kwh,
                       method_label(d, m->intensity_method, &factor));
        summary_row(d, "summary.emissions", value,
                    method_label(d, total_method(m), &method), basis);
        mass_text(m->facility_emissions_g, value, sizeof(value));
        cl_text_printf(
            basis, sizeof(basis),
            "Emissions on the IT basis x PUE %.3f (%s), applied once.", m->pue,
            method_label(d, m->pue_method, &factor));
        summary_row(d, "summary.facility_emissions", value,
                    method_label(d, m->pue_method, &method), basis);
}

static void
summary_pue(struct cl_pdf_doc *d, const struct cl_report_model *m)
{
        char value[64], basis[512];
        struct label method;

        cl_text_printf(value, sizeof(value), "%.3f (ratio)", m->pue);
        if (m->pue_method == CL_METHOD_MEASURED)
                cl_text_printf(
                    basis, sizeof(basis),
                    "Measured from meter data: facility %.3f kWh / IT "
                    "%.3f kWh over %d meter intervals.",
                    m->meter_facility_kwh, m->meter_it_kwh, m->meter_intervals);
        else
                cl_text_printf(
                    basis, sizeof(basis),
                    "Declared by policy %s, because no facility meter "
                    "data cover the period.",
                    m->policy_name);
        summary_row(d, "summary.pue", value,
                    method_label(d, m->pue_method, &method), basis);
}

/* Hours of the period without a time-matched value make it mixed. */
static enum cl_method
time_matched_method(const struct cl_report_model *m)
{
        if (!m->has_time_matched)
                return CL_METHOD_NONE;
        return m->hours_hourly < m->n_hours ? CL_METHOD_MIXED
                                            : CL_METHOD_MEASURED;
}

static void
summary_policy(struct cl_pdf_doc *d, const struct cl_report_model *m)
{
        char value[64], basis[512];
        struct label method;

        cl_text_printf(value, sizeof(value), "%.1f gCO2eq/kWh",
                       m->intensity_g_per_kwh);
        cl_text_printf(basis, sizeof(basis), "Source %s: %s",
                       m->intensity_source, m->intensity_label);
        summary_row(d, "summary.intensity", value,
                    method_label(d, m->intensity_method, &method), basis);
        if (m->has_time_matched) {
                cl_text_printf(value, sizeof(value), "%.1f gCO2eq/kWh",
                               m->time_matched_g_per_kwh);
                cl_text_printf(basis, sizeof(basis),
                               "%s, zone %s, %s side: energy-weighted over "
                               "the %zu hours with a value (%.1f %% of the "
                               "energy). Accounting basis: %s.",
                               m->hourly_source, m->zone, m->time_matched_basis,
                               m->hours_hourly, m->time_matched_share * 100.0,
                               m->hourly_basis ? "hourly" : "official");
        } else {
                cl_text_printf(value, sizeof(value), "-");
                cl_text_printf(basis, sizeof(basis),
                               "No time-matched hourly values: %s. "
                               "Accounting basis: %s.",
                               m->intensity_note[0] ? m->intensity_note
                                                    : "none stored",
                               m->hourly_basis ? "hourly" : "official");
        }
        summary_row(d, "summary.time_matched", value,
                    method_label(d, time_matched_method(m), &method), basis);
        cl_text_printf(value, sizeof(value), "%.1f gCO2eq/kWh",
                       m->grid_reference_g_per_kwh);
        summary_row(d, "summary.grid_reference", value,
                    method_label(d, CL_METHOD_DECLARED, &method),
                    m->grid_reference_origin);
        cl_text_printf(value, sizeof(value), "%.2f (ratio)", m->pue_target);
        summary_row(d, "summary.pue_target", value,
                    method_label(d, CL_METHOD_DECLARED, &method),
                    m->pue_target_origin);
        cl_text_printf(value, sizeof(value), "%.1f %%",
                       m->coverage_threshold * 100.0);
        cl_text_printf(basis, sizeof(basis), "Policy %s (%s).", m->policy_name,
                       m->policy_path);
        summary_row(d, "summary.coverage_threshold", value,
                    method_label(d, CL_METHOD_DECLARED, &method), basis);
        cl_text_printf(value, sizeof(value), "%zu / %zu", m->n_nodes,
                       m->n_workloads);
        summary_row(d, "summary.counts", value, "-",
                    "Nodes and workloads with samples in the period.");
}

static void
draw_summary(struct cl_pdf_doc *d, const struct cl_report_model *m)
{
        static const struct cl_pdf_col cols[] = {
            {"column.item", 120, CL_PDF_LEFT, 1},
            {"column.value", 105, CL_PDF_RIGHT, 1},
            {"column.method", 62, CL_PDF_LEFT, 1},
            {"column.basis", CL_PDF_CONTENT_WIDTH - 287, CL_PDF_LEFT, 1},
        };
        static const struct cl_pdf_table table = {cols, 4};

        cl_pdf_heading(d, "section.summary", SECTION_SIZE, FOLLOW);
        if (!m->has_samples)
                draw_no_samples(d);
        cl_pdf_table_begin(d, &table);
        summary_energy(d, m);
        summary_emissions(d, m);
        summary_pue(d, m);
        summary_policy(d, m);
        cl_pdf_table_end(d);
}

/*
 * Draws one row per check: check, target, value, result, reason, after a
 * first cell with name when name is not NULL (only on the first row).
 */
static void
check_rows(struct cl_pdf_doc *d, const char *name,
           const struct cl_check *checks, size_t n)
{
        char target[64], value[64];
        struct label result;
        const char *cells[6];
        size_t c;

        for (size_t i = 0; i < n; i++) {
                const struct cl_check *k = &checks[i];

                c = 0;
                if (name)
                        cells[c++] = i == 0 ? name : "";
                cells[c++] = k->check;
                cells[c++] = check_number(k->has_target, k->target, k->unit,
                                          target, sizeof(target));
                cells[c++] = check_number(k->has_value, k->value, k->unit,
                                          value, sizeof(value));
                cells[c++] = status_text(d, k->result, "\n", &result);
                cells[c++] = k->reason;
                cl_pdf_table_row(d, cells);
        }
}

static void
draw_site_checks(struct cl_pdf_doc *d, const struct cl_report_model *m)
{
        static const struct cl_pdf_col cols[] = {
            {"column.check", 66, CL_PDF_LEFT, 1},
            {"column.target", 84, CL_PDF_RIGHT, 1},
            {"column.value", 84, CL_PDF_RIGHT, 1},
            {"column.result", 80, CL_PDF_LEFT, 1},
            {"column.reason", CL_PDF_CONTENT_WIDTH - 314, CL_PDF_LEFT, 1},
        };
        static const struct cl_pdf_table table = {cols, 5};

        cl_pdf_heading(d, "section.site_checks", SUBSECTION_SIZE, FOLLOW);
        cl_pdf_table_begin(d, &table);
        check_rows(d, NULL, m->site_checks, m->n_site_checks);
        if (m->n_site_checks == 0) {
                char none[160];
                const char *cells[5] = {"-", "-", "-", "-", none};

                cl_text_printf(none, sizeof(none), "%s %s",
                               cl_pdf_text(d, "verdicts.none", CL_LANG_KO),
                               cl_pdf_text(d, "verdicts.none", CL_LANG_EN));
                cl_pdf_table_row(d, cells);
        }
        cl_pdf_table_end(d);
}

static void
draw_status_counts(struct cl_pdf_doc *d, const struct cl_report_model *m)
{
        static const struct cl_pdf_col cols[] = {
            {"column.status", 160, CL_PDF_LEFT, 0},
            {"column.count", 60, CL_PDF_RIGHT, 0},
        };
        static const struct cl_pdf_table table = {cols, 2};

        cl_pdf_heading(d, "section.status_counts", SUBSECTION_SIZE, FOLLOW);
        cl_pdf_table_begin(d, &table);
        for (int s = 0; s < CL_STATUS_COUNT; s++) {
                struct label status;
                char count[32];
                const char *cells[2];

                cl_text_printf(count, sizeof(count), "%zu",
                               m->status_counts[s]);
                cells[0] = status_label(d, (enum cl_status)s, &status);
                cells[1] = count;
                cl_pdf_table_row(d, cells);
        }
        cl_pdf_table_end(d);
}

static void
node_row(struct cl_pdf_doc *d, const struct cl_node_report *n)
{
        char e[32], idle[32], sys[32], pods[32], cov[32], gaps[48], mean[32],
            peak[32];
        const char *cells[10];

        cl_text_printf(e, sizeof(e), "%.4f", uj_to_kwh(n->energy_uj));
        cl_text_printf(idle, sizeof(idle), "%.4f", uj_to_kwh(n->idle_uj));
        cl_text_printf(sys, sizeof(sys), "%.4f", uj_to_kwh(n->system_uj));
        cl_text_printf(pods, sizeof(pods), "%.4f", uj_to_kwh(n->pods_uj));
        cl_text_printf(cov, sizeof(cov), "%.1f", n->coverage * 100.0);
        cl_text_printf(gaps, sizeof(gaps), "%d, %.1f", n->gaps,
                       (double)n->gap_ns / 60e9);
        cl_text_printf(mean, sizeof(mean), "%.1f", n->mean_w);
        cl_text_printf(peak, sizeof(peak), "%.1f", n->peak_w);
        cells[0] = n->name;
        cells[1] = e;
        cells[2] = idle;
        cells[3] = sys;
        cells[4] = pods;
        cells[5] = cl_method_name(n->method);
        cells[6] = cov;
        cells[7] = gaps;
        cells[8] = mean;
        cells[9] = peak;
        cl_pdf_table_row(d, cells);
}

/* Details of one node: energy split, power model, intervals, emissions. */
static void
node_detail_row(struct cl_pdf_doc *d, const struct cl_node_report *n)
{
        char text[1024], model[160] = "";
        const char *cells[2];

        if (n->method == CL_METHOD_ESTIMATED || n->method == CL_METHOD_MIXED)
                cl_text_printf(model, sizeof(model),
                               " (power model P_idle %.1f W, P_max %.1f W)",
                               n->model_idle_w, n->model_max_w);
        cl_text_printf(
            text, sizeof(text),
            "Measured (RAPL) %.4f kWh; estimated %.4f kWh%s. %d "
            "intervals with energy covering %.1f min; %d gaps of "
            "%.1f min; %d intervals with pods scaled down to the node "
            "energy. Emissions %.1f gCO2eq on the IT basis.",
            uj_to_kwh(n->measured_uj), uj_to_kwh(n->estimated_uj), model,
            n->intervals, (double)n->sampled_ns / 60e9, n->gaps,
            (double)n->gap_ns / 60e9, n->scaled_intervals, n->emissions_g);
        cells[0] = n->name;
        cells[1] = text;
        cl_pdf_table_row(d, cells);
}

static void
draw_nodes(struct cl_pdf_doc *d, const struct cl_report_model *m)
{
        static const struct cl_pdf_col cols[] = {
            {"column.node", 111, CL_PDF_LEFT, 0},
            {"column.node_energy", 48, CL_PDF_RIGHT, 0},
            {"column.idle", 44, CL_PDF_RIGHT, 0},
            {"column.system", 44, CL_PDF_RIGHT, 0},
            {"column.pods", 44, CL_PDF_RIGHT, 0},
            {"column.method", 48, CL_PDF_LEFT, 0},
            {"column.coverage", 44, CL_PDF_RIGHT, 0},
            {"column.gaps", 48, CL_PDF_RIGHT, 0},
            {"column.mean_w", 40, CL_PDF_RIGHT, 0},
            {"column.peak_w", 40, CL_PDF_RIGHT, 0},
        };
        static const struct cl_pdf_table table = {cols, 10};
        static const struct cl_pdf_col detail_cols[] = {
            {"column.node", 111, CL_PDF_LEFT, 1},
            {"node.detail", CL_PDF_CONTENT_WIDTH - 111, CL_PDF_LEFT, 1},
        };
        static const struct cl_pdf_table detail = {detail_cols, 2};
        static const struct cl_pdf_col check_cols[] = {
            {"column.node", 100, CL_PDF_LEFT, 1},
            {"column.check", 58, CL_PDF_LEFT, 1},
            {"column.target", 58, CL_PDF_RIGHT, 1},
            {"column.value", 58, CL_PDF_RIGHT, 1},
            {"column.result", 80, CL_PDF_LEFT, 1},
            {"column.reason", CL_PDF_CONTENT_WIDTH - 354, CL_PDF_LEFT, 1},
        };
        static const struct cl_pdf_table checks = {check_cols, 6};

        cl_pdf_heading(d, "section.nodes", SECTION_SIZE, FOLLOW);
        if (m->n_nodes == 0) {
                cl_pdf_paragraph(d, d->regular, TEXT_SIZE, 0.0,
                                 cl_pdf_text(d, "nodes.none", CL_LANG_KO));
                cl_pdf_paragraph(d, d->regular, TEXT_SIZE, 0.3,
                                 cl_pdf_text(d, "nodes.none", CL_LANG_EN));
                return;
        }
        cl_pdf_table_begin(d, &table);
        for (size_t i = 0; i < m->n_nodes; i++)
                node_row(d, &m->nodes[i]);
        cl_pdf_table_end(d);
        cl_pdf_table_begin(d, &detail);
        for (size_t i = 0; i < m->n_nodes; i++)
                node_detail_row(d, &m->nodes[i]);
        cl_pdf_table_end(d);
        cl_pdf_table_begin(d, &checks);
        for (size_t i = 0; i < m->n_nodes; i++)
                check_rows(d, m->nodes[i].name, m->nodes[i].checks,
                           m->nodes[i].n_checks);
        cl_pdf_table_end(d);
}

/* Draws the Korean and the English text of key as two paragraphs. */
static void
both_paragraphs(struct cl_pdf_doc *d, const char *key)
{
        cl_pdf_paragraph(d, d->regular, TEXT_SIZE, 0.0,
                         cl_pdf_text(d, key, CL_LANG_KO));
        cl_pdf_paragraph(d, d->regular, TEXT_SIZE - 0.5, 0.3,
                         cl_pdf_text(d, key, CL_LANG_EN));
}

/* The legend of the method and status words used in the tables. */
static void
draw_legend(struct cl_pdf_doc *d)
{
        char text[1024];
        struct label l[CL_STATUS_COUNT + 6];
        size_t n = 0;

        for (int k = CL_METHOD_MEASURED; k <= CL_METHOD_NONE; k++)
                method_label(d, (enum cl_method)k, &l[n++]);
        for (int k = 0; k < CL_STATUS_COUNT; k++)
                status_label(d, (enum cl_status)k, &l[n++]);
        cl_text_printf(
            text, sizeof(text),
            "Method: %s, %s, %s, %s, %s, %s. Status: %s, %s, %s, %s. "
            "The energy, mean power and emissions of a workload have "
            "the method in its row; emissions are on the IT basis, "
            "without PUE.",
            l[0].text, l[1].text, l[2].text, l[3].text, l[4].text, l[5].text,
            l[6].text, l[7].text, l[8].text, l[9].text);
        cl_pdf_paragraph(d, d->regular, 7.5, 0.25, text);
}

static void
workload_row(struct cl_pdf_doc *d, const struct cl_workload_report *w)
{
        char wh[32], mean[32], g[32];
        const char *cells[7];

        cl_text_printf(wh, sizeof(wh), "%.3f", (double)w->energy_uj / 3.6e9);
        cl_text_printf(mean, sizeof(mean), "%.2f", w->mean_w);
        cl_text_printf(g, sizeof(g), "%.3f", w->emissions_g);
        cells[0] = w->namespace_[0] ? w->namespace_ : "-";
        cells[1] = w->pod;
        cells[2] = wh;
        cells[3] = mean;
        cells[4] = g;
        cells[5] = cl_method_name(w->method);
        cells[6] = cl_status_name(w->status);
        cl_pdf_table_row(d, cells);
}

static void
draw_workloads(struct cl_pdf_doc *d, const struct cl_report_model *m)
{
        static const struct cl_pdf_col cols[] = {
            {"column.namespace", 72, CL_PDF_LEFT, 0},
            {"column.pod", 142, CL_PDF_LEFT, 0},
            {"column.workload_energy", 55, CL_PDF_RIGHT, 0},
            {"column.mean_w", 42, CL_PDF_RIGHT, 0},
            {"column.emissions_g", 58, CL_PDF_RIGHT, 0},
            {"column.method", 52, CL_PDF_LEFT, 0},
            {"column.status", CL_PDF_CONTENT_WIDTH - 421, CL_PDF_LEFT, 0},
        };
        static const struct cl_pdf_table table = {cols, 7};

        cl_pdf_new_page(d);
        cl_pdf_heading(d, "section.workloads", SECTION_SIZE, FOLLOW);
        if (m->n_workloads == 0) {
                both_paragraphs(d, "workloads.none");
                return;
        }
        cl_pdf_table_begin(d, &table);
        for (size_t i = 0; i < m->n_workloads; i++)
                workload_row(d, &m->workloads[i]);
        cl_pdf_table_end(d);
        draw_legend(d);
}

static void
draw_verdicts(struct cl_pdf_doc *d, const struct cl_report_model *m)
{
        static const struct cl_pdf_col cols[] = {
            {"column.pod", 100, CL_PDF_LEFT, 1},
            {"column.check", 58, CL_PDF_LEFT, 1},
            {"column.target", 58, CL_PDF_RIGHT, 1},
            {"column.value", 58, CL_PDF_RIGHT, 1},
            {"column.result", 80, CL_PDF_LEFT, 1},
            {"column.reason", CL_PDF_CONTENT_WIDTH - 354, CL_PDF_LEFT, 1},
        };
        static const struct cl_pdf_table table = {cols, 6};

        if (m->n_workloads == 0)
                return;
        cl_pdf_skip(d, 6);
        cl_pdf_heading(d, "section.verdicts", SUBSECTION_SIZE, FOLLOW);
        cl_pdf_table_begin(d, &table);
        for (size_t i = 0; i < m->n_workloads; i++) {
                const struct cl_workload_report *w = &m->workloads[i];
                char name[600];
                struct label status;

                cl_text_printf(name, sizeof(name), "%s/%s\n%s",
                               w->namespace_[0] ? w->namespace_ : "-", w->pod,
                               status_label(d, w->status, &status));
                if (w->n_checks == 0) {
                        const char *cells[6] = {
                            name, "-",
                            "-",  "-",
                            "-",  cl_pdf_text(d, "verdicts.none", CL_LANG_EN)};

                        cl_pdf_table_row(d, cells);
                        continue;
                }
                check_rows(d, name, w->checks, w->n_checks);
        }
        cl_pdf_table_end(d);
}

static void
hour_row(struct cl_pdf_doc *d, const struct cl_hour_report *h, int with_date)
{
        char kst[32], kst_end[32], hour[48], utc[32], e[32], tm[48], ap[48];
        char g[32];
        const char *cells[6];

        cl_format_kst(h->start_ns, kst, sizeof(kst));
        cl_format_kst(h->start_ns + CL_NS_PER_HOUR, kst_end, sizeof(kst_end));
        /* An hour that ends at midnight ends at 24:00 of its day. */
        if (strcmp(kst_end + 11, "00:00") == 0)
                cl_text_printf(kst_end + 11, sizeof(kst_end) - 11, "24:00");
        /* The hours of a period longer than a day start with their date. */
        if (with_date)
                cl_text_printf(hour, sizeof(hour), "%.10s %s\u2013%s", kst,
                               kst + 11, kst_end + 11);
        else
                cl_text_printf(hour, sizeof(hour), "%s\u2013%s", kst + 11,
                               kst_end + 11);
        cells[0] = hour;
        cells[1] = utc_minutes(h->start_ns, utc, sizeof(utc));
        /* An hour without samples has no energy, which is not zero. */
        if (h->sampled_ns > 0) {
                cl_text_printf(e, sizeof(e), "%.6f", uj_to_kwh(h->energy_uj));
                cl_text_printf(g, sizeof(g), "%.3f", h->emissions_g);
        } else {
                cl_text_printf(e, sizeof(e), "-");
                cl_text_printf(g, sizeof(g), "-");
        }
        if (h->has_hourly)
                cl_text_printf(tm, sizeof(tm), "%.1f %s", h->hourly_g_per_kwh,
                               h->hourly_quality);
        else
                cl_text_printf(tm, sizeof(tm), "-");
        cl_text_printf(ap, sizeof(ap), "%.1f %s%s", h->intensity_g_per_kwh,
                       h->intensity_source, h->fell_back ? " *" : "");
        cells[2] = e;
        cells[3] = tm;
        cells[4] = ap;
        cells[5] = g;
        cl_pdf_table_row(d, cells);
}

static void
draw_hours(struct cl_pdf_doc *d, const struct cl_report_model *m)
{
        static const struct cl_pdf_col cols[] = {
            {"column.hour", 62, CL_PDF_LEFT, 0},
            {"column.hour_utc", 78, CL_PDF_LEFT, 0},
            {"column.hour_energy", 68, CL_PDF_RIGHT, 0},
            {"column.hourly", 100, CL_PDF_RIGHT, 0},
            {"column.applied", 95, CL_PDF_RIGHT, 0},
            {"column.emissions_g", 80, CL_PDF_RIGHT, 0},
        };
        /* The same columns, with room for the date before the hour. */
        static const struct cl_pdf_col dated_cols[] = {
            {"column.hour", 104, CL_PDF_LEFT, 0},
            {"column.hour_utc", 78, CL_PDF_LEFT, 0},
            {"column.hour_energy", 64, CL_PDF_RIGHT, 0},
            {"column.hourly", 86, CL_PDF_RIGHT, 0},
            {"column.applied", 95, CL_PDF_RIGHT, 0},
            {"column.emissions_g", 80, CL_PDF_RIGHT, 0},
        };
        static const struct cl_pdf_table table = {cols, 6};
        static const struct cl_pdf_table dated_table = {dated_cols, 6};
        int with_date = m->n_hours > 24;
        char note[1024], matched[256];
        struct label method, factor;

        cl_pdf_new_page(d);
        cl_pdf_heading(d, "section.hours", SECTION_SIZE, FOLLOW);
        if (m->n_hours == 0) {
                both_paragraphs(d, "hours.none");
                return;
        }
        cl_pdf_table_begin(d, with_date ? &dated_table : &table);
        for (size_t i = 0; i < m->n_hours; i++)
                hour_row(d, &m->hours[i], with_date);
        cl_pdf_table_end(d);
        if (m->has_time_matched)
                cl_text_printf(matched, sizeof(matched),
                               "%.1f gCO2eq/kWh (%s side, %.1f %% of the "
                               "energy)",
                               m->time_matched_g_per_kwh, m->time_matched_basis,
                               m->time_matched_share * 100.0);
        else
                cl_text_printf(matched, sizeof(matched), "none (%s)",
                               m->intensity_note[0] ? m->intensity_note
                                                    : "no hourly data");
        cl_text_printf(
            note, sizeof(note),
            "Energy: IT energy of the hour (%s over the day, measured "
            "share %.1f %%); '-' marks an hour without samples. Hourly: "
            "the time-matched value of %s for zone %s as the source gives "
            "it, with its quality; %zu of %zu hours have one. Applied: "
            "the value used for emissions (%s basis, %s) and its source; "
            "'*' marks an hour without an hourly value that uses the "
            "official factor %.1f gCO2eq/kWh (%zu hours). Time-matched "
            "intensity of the energy: %s. Emissions: energy x applied, IT "
            "basis, without PUE.",
            method_label(d, total_method(m), &method),
            m->measured_share * 100.0, m->hourly_source, m->zone,
            m->hours_hourly, m->n_hours,
            m->hourly_basis ? "hourly" : "official",
            method_label(d, m->intensity_method, &factor),
            m->official_g_per_kwh, m->hours_fallback, matched);
        cl_pdf_paragraph(d, d->regular, 7.5, 0.25, note);
}

/* The policy values and the power model behind this report's figures. */
static void
draw_applied_values(struct cl_pdf_doc *d, const struct cl_report_model *m)
{
        char text[1024];
        struct label l;
        int any_model = 0;

        cl_pdf_heading(d, "methodology.values", SUBSECTION_SIZE, 30);
        cl_text_printf(
            text, sizeof(text),
            "Emission factor %.1f gCO2eq/kWh (%s, source %s: %s). Grid "
            "intensity reference %.1f gCO2eq/kWh (declared: %s). PUE "
            "target %.2f (declared: %s). Minimum coverage %.1f %% "
            "(declared by policy %s). PUE %.3f (%s).",
            m->intensity_g_per_kwh, method_label(d, m->intensity_method, &l),
            m->intensity_source, m->intensity_label,
            m->grid_reference_g_per_kwh, m->grid_reference_origin,
            m->pue_target, m->pue_target_origin, m->coverage_threshold * 100.0,
            m->policy_name, m->pue, cl_method_name(m->pue_method));
        cl_pdf_paragraph(d, d->regular, TEXT_SIZE, 0.0, text);
        for (size_t i = 0; i < m->n_nodes; i++) {
                const struct cl_node_report *n = &m->nodes[i];

                if (n->method != CL_METHOD_ESTIMATED &&
                    n->method != CL_METHOD_MIXED)
                        continue;
                if (!any_model) {
                        cl_pdf_heading(d, "methodology.power_model",
                                       SUBSECTION_SIZE, 20);
                        any_model = 1;
                }
                cl_text_printf(
                    text, sizeof(text),
                    "%s: P_idle %.1f W, P_max %.1f W; estimated %.4f "
                    "kWh of %.4f kWh (%s).",
                    n->name, n->model_idle_w, n->model_max_w,
                    uj_to_kwh(n->estimated_uj), uj_to_kwh(n->energy_uj),
                    cl_method_name(n->method));
                cl_pdf_paragraph(d, d->regular, TEXT_SIZE, 0.0, text);
        }
}

static void
draw_methodology(struct cl_pdf_doc *d, const struct cl_report_model *m)
{
        size_t n = cl_report_text_paragraphs(d->text);

        cl_pdf_new_page(d);
        cl_pdf_heading(d, "section.methodology", SECTION_SIZE, FOLLOW);
        for (size_t i = 0; i < n; i++) {
                char title[256];

                cl_text_printf(
                    title, sizeof(title), "%s  %s",
                    cl_report_text_paragraph(d->text, i, 1, CL_LANG_KO),
                    cl_report_text_paragraph(d->text, i, 1, CL_LANG_EN));
                cl_pdf_skip(d, 3);
                cl_pdf_need(d, 40);
                cl_pdf_paragraph(d, d->bold, 9.5, 0.0, title);
                cl_pdf_paragraph(
                    d, d->regular, TEXT_SIZE, 0.0,
                    cl_report_text_paragraph(d->text, i, 0, CL_LANG_KO));
                cl_pdf_paragraph(
                    d, d->regular, TEXT_SIZE - 0.5, 0.3,
                    cl_report_text_paragraph(d->text, i, 0, CL_LANG_EN));
        }
        cl_pdf_skip(d, 4);
        draw_applied_values(d, m);
}

/* Sets title, author, creator and a creation date from generated_ns. */
static void
set_info(struct cl_pdf_doc *d, const struct cl_report_model *m)
{
        int64_t secs = m->generated_ns / CL_NS_PER_S;
        int64_t days = secs / 86400, rest = secs % 86400;
        HPDF_Date date = {0};
        char title[512], creator[96];

        if (rest < 0) {
                rest += 86400;
                days--;
        }
        cl_civil_from_days(days, &date.year, &date.month, &date.day);
        date.hour = (int)(rest / 3600);
        date.minutes = (int)(rest % 3600 / 60);
        date.seconds = (int)(rest % 60);
        date.ind = 'Z';
        cl_text_printf(title, sizeof(title), "%s / %s %s",
                       cl_pdf_text(d, "title", CL_LANG_KO),
                       cl_pdf_text(d, "title", CL_LANG_EN), m->date);
        cl_text_printf(creator, sizeof(creator), "carbonledger %s",
                       m->program_version);
        HPDF_SetInfoAttr(d->pdf, HPDF_INFO_TITLE, title);
        HPDF_SetInfoAttr(d->pdf, HPDF_INFO_AUTHOR, m->organisation);
        HPDF_SetInfoAttr(d->pdf, HPDF_INFO_CREATOR, creator);
        HPDF_SetInfoAttr(d->pdf, HPDF_INFO_SUBJECT,
                         "Energy and carbon audit of one KST day");
        HPDF_SetInfoDateAttr(d->pdf, HPDF_INFO_CREATION_DATE, date);
}

static cl_err
check_attach_name(const char *name)
{
        if (name[0] == '\0' || strcmp(name, ".") == 0 ||
            strcmp(name, "..") == 0)
                return cl_fail(CL_EINVAL, "invalid attachment name \"%s\"",
                               name);
        for (const char *p = name; *p; p++)
                if (*p == '/' || *p < 0x20 || *p > 0x7E)
                        return cl_fail(CL_EINVAL,
                                       "invalid attachment name \"%s\": use "
                                       "a bare file name of printable ASCII",
                                       name);
        return CL_OK;
}

/*
 * Renames the attachment from the path libharu stored to name, in the
 * file specification (/F, plus /UF) and in the key of the EmbeddedFiles
 * name tree. Returns 0 when the objects do not have the expected shape.
 */
static int
rename_attachment(struct cl_pdf_doc *d, HPDF_EmbeddedFile spec,
                  const char *path, const char *name)
{
        HPDF_String f = HPDF_Dict_GetItem(spec, "F", HPDF_OCLASS_STRING);
        HPDF_NameDict names = HPDF_Catalog_GetNames(d->pdf->catalog);
        HPDF_NameTree tree;
        HPDF_Array items;
        size_t len = strlen(path);

        if (!f || !names)
                return 0;
        tree = HPDF_NameDict_GetNameTree(names, HPDF_NAME_EMBEDDED_FILES);
        items =
            tree ? HPDF_Dict_GetItem(tree, "Names", HPDF_OCLASS_ARRAY) : NULL;
        if (!items)
                return 0;
        if (HPDF_String_SetValue(f, name) != HPDF_OK ||
            HPDF_Dict_Add(spec, "UF",
                          HPDF_String_New(d->pdf->mmgr, name, NULL)) != HPDF_OK)
                return 0;
        for (HPDF_UINT i = 0; i < HPDF_Array_Items(items); i += 2) {
                HPDF_String key =
                    HPDF_Array_GetItem(items, i, HPDF_OCLASS_STRING);

                if (key && key->len == len &&
                    memcmp(key->value, path, len) == 0)
                        return HPDF_String_SetValue(key, name) == HPDF_OK;
        }
        return 0;
}

/*
 * Embeds the file at path under the bare name. HPDF_AttachFile in libharu
 * 2.3.0 reads the file at once, but stores the path exactly as given as
 * the file name (/F and the name-tree key) and writes /Type /F where PDF
 * requires /Type /Filespec. Changing the cwd is not allowed, so the
 * objects it built are corrected in memory before HPDF_SaveToFile, through
 * the object API that libhpdf-dev installs (hpdf_objects.h).
 */
static cl_err
attach_file(struct cl_pdf_doc *d, const char *path, const char *name)
{
        HPDF_EmbeddedFile spec;
        cl_err err;

        err = check_attach_name(name);
        if (err != CL_OK)
                return err;
        if (access(path, R_OK) != 0)
                return cl_fail_errno(CL_EIO, errno, "cannot read attachment %s",
                                     path);
        spec = HPDF_AttachFile(d->pdf, path);
        if (!spec)
                return cl_fail(CL_ERENDER,
                               "cannot attach %s: libharu error 0x%04X "
                               "(detail %u)",
                               path, (unsigned)d->error_no,
                               (unsigned)d->detail_no);
        if (HPDF_Dict_AddName(spec, "Type", "Filespec") != HPDF_OK ||
            !rename_attachment(d, spec, path, name))
                return cl_fail(CL_ERENDER,
                               "cannot store the name %s of attachment %s: "
                               "unexpected libharu objects",
                               name, path);
        return CL_OK;
}

/* Turns the recorded failure of d into an error naming path. */
static cl_err
doc_error(const struct cl_pdf_doc *d, const char *path)
{
        if (d->missing_key[0] != '\0')
                return cl_fail(CL_EFORMAT,
                               "cannot write PDF report %s: report texts %s "
                               "have no text \"%s\"",
                               path, cl_report_text_path(d->text),
                               d->missing_key);
        if (d->out_of_memory)
                return cl_fail(CL_ENOMEM,
                               "cannot write PDF report %s: out of memory",
                               path);
        /* libharu passes errno as the detail of a failed open or write. */
        if (d->error_no == HPDF_FILE_OPEN_ERROR ||
            d->error_no == HPDF_FILE_IO_ERROR)
                return cl_fail(CL_EIO,
                               "cannot write PDF report %s: libharu error "
                               "0x%04X: %s",
                               path, (unsigned)d->error_no,
                               strerror((int)d->detail_no));
        return cl_fail(CL_ERENDER,
                       "cannot write PDF report %s: libharu error 0x%04X "
                       "(detail %u)",
                       path, (unsigned)d->error_no, (unsigned)d->detail_no);
}

/* Draws every section; stops at the first failure. */
static void
draw_sections(struct cl_pdf_doc *d, const struct cl_report_model *m)
{
        void (*const sections[])(struct cl_pdf_doc *,
                                 const struct cl_report_model *) = {
            draw_summary, draw_site_checks,     draw_status_counts,
            draw_nodes,   draw_workloads,       draw_verdicts,
            draw_hours,   cl_pdf_draw_analyses, draw_methodology,
        };

        cl_pdf_new_page(d);
        for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
                if (cl_pdf_failed(d))
                        return;
                sections[i](d, m);
        }
}

static void
finish_pages(struct cl_pdf_doc *d, const struct cl_report_model *m)
{
        char title[256], org[320], period[160], line[400], footer[512];
        char generated[32];
        const char *header[3] = {title, org, line};

        cl_text_printf(title, sizeof(title), "%s  %s",
                       cl_pdf_text(d, "title", CL_LANG_KO),
                       cl_pdf_text(d, "title", CL_LANG_EN));
        cl_text_printf(org, sizeof(org), "%s %s: %s",
                       cl_pdf_text(d, "header.organisation", CL_LANG_KO),
                       cl_pdf_text(d, "header.organisation", CL_LANG_EN),
                       m->organisation);
        period_text(m, period, sizeof(period));
        cl_text_printf(line, sizeof(line), "%s %s: %s",
                       cl_pdf_text(d, "header.period", CL_LANG_KO),
                       cl_pdf_text(d, "header.period", CL_LANG_EN), period);
        cl_text_printf(
            footer, sizeof(footer),
            "carbonledger %s - %s %s %s (UTC) - policy %s", m->program_version,
            cl_pdf_text(d, "footer.generated", CL_LANG_KO),
            cl_pdf_text(d, "footer.generated", CL_LANG_EN),
            cl_format_utc(m->generated_ns, generated, sizeof(generated)),
            m->policy_name);
        cl_pdf_finish_pages(d, header, footer);
}

static cl_err
check_args(const struct cl_report_model *m, const struct cl_render_options *opt,
           const char *path)
{
        if (!m || !opt || !path || !opt->font_path || !opt->font_bold_path ||
            !opt->template_dir)
                return cl_fail(CL_EINVAL,
                               "cannot write PDF report %s: missing model, "
                               "font or template folder",
                               path ? path : "(null)");
        if (opt->attach_path && !opt->attach_name)
                return cl_fail(CL_EINVAL,
                               "cannot write PDF report %s: attachment %s "
                               "has no name",
                               path, opt->attach_path);
        return CL_OK;
}

/* Renders into d and saves; the caller frees d and the texts. */
static cl_err
render(struct cl_pdf_doc *d, const struct cl_report_model *m,
       const struct cl_render_options *opt, const char *path)
{
        cl_err err;

        set_info(d, m);
        draw_sections(d, m);
        if (cl_pdf_failed(d))
                return doc_error(d, path);
        finish_pages(d, m);
        if (opt->attach_path) {
                err = attach_file(d, opt->attach_path, opt->attach_name);
                if (err != CL_OK)
                        return err;
        }
        if (cl_pdf_failed(d))
                return doc_error(d, path);
        if (HPDF_SaveToFile(d->pdf, path) != HPDF_OK || cl_pdf_failed(d))
                return doc_error(d, path);
        return CL_OK;
}

cl_err
cl_render_pdf(const struct cl_report_model *m,
              const struct cl_render_options *opt, const char *path)
{
        struct cl_c_numeric numeric;
        struct cl_report_text *text = NULL;
        struct cl_pdf_doc d = {0};
        cl_err err;

        err = check_args(m, opt, path);
        if (err != CL_OK)
                return err;
        err = cl_c_numeric_enter(&numeric);
        if (err != CL_OK)
                return err;
        err = cl_report_text_load(opt->template_dir, &text);
        if (err != CL_OK)
                goto out;
        err = cl_pdf_doc_init(&d, opt->font_path, opt->font_bold_path, text);
        if (err != CL_OK)
                goto out;
        err = render(&d, m, opt, path);
out:
        cl_pdf_doc_free(&d);
        cl_report_text_free(text);
        cl_c_numeric_leave(&numeric);
        return err;
}
