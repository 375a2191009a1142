/*
 * The nightly job (see run.h for the steps and the failure rule).
 */
#include "run.h"

#include "aggregate.h"
#include "analyses_report.h"
#include "compliance.h"
#include "db.h"
#include "fsutil.h"
#include "intensity.h"
#include "ledger.h"
#include "log.h"
#include "meter.h"
#include "render.h"
#include "rollup.h"
#include "sign.h"
#include "timeutil.h"
#include "verify.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum report_file {
        FILE_JSON,
        FILE_XLSX,
        FILE_P7S,
        FILE_PDF,
        FILE_COUNT,
};

static const char *const file_suffix[FILE_COUNT] = {".json", ".xlsx",
                                                    ".xlsx.p7s", ".pdf"};

struct run_files {
        char final[FILE_COUNT][PATH_MAX];
        char tmp[FILE_COUNT][PATH_MAX];
        char unsigned_pdf[PATH_MAX];
        char backup[FILE_COUNT][PATH_MAX + 16];
        int has_backup[FILE_COUNT];
        int renamed[FILE_COUNT];
};

void
cl_yesterday_kst(int64_t now_ns, char date[11])
{
        int64_t kst_days = (now_ns + CL_KST_OFFSET_NS) / CL_NS_PER_DAY;
        int y, m, d;

        cl_civil_from_days(kst_days - 1, &y, &m, &d);
        snprintf(date, 11, "%04d-%02d-%02d", y, m, d);
}

static void
set_intensity(struct cl_report_model *m, const struct cl_emission_factor *f)
{
        /* tCO2eq/MWh = kgCO2eq/kWh; x 1000 gives gCO2eq/kWh. */
        m->intensity_g_per_kwh = f->t_per_mwh * 1000.0;
        m->official_g_per_kwh = m->intensity_g_per_kwh;
        m->intensity_method = CL_METHOD_DECLARED;
        snprintf(m->intensity_source, sizeof(m->intensity_source), "gir");
        snprintf(m->intensity_label, sizeof(m->intensity_label),
                 "GIR official consumption-side factor, %s (%s): %.4f "
                 "tCO2eq/MWh%s",
                 f->notice, f->statistics, f->t_per_mwh,
                 f->confirmed ? "" : " (value not confirmed at the source)");
}

/*
 * Fills each hour's intensity from the stored hourly values of the
 * policy's source and zone: the time-matched value as the source gives it,
 * and the applied (consumption-side) value. With the official basis every
 * hour applies the official factor. With the hourly basis an hour applies
 * its generation-side value divided by (1 - grid loss), or, flagged, the
 * official factor when it has no value.
 */
static cl_err
apply_hourly_intensity(sqlite3 *db, struct cl_report_model *m)
{
        struct cl_intensity_hour *stored = NULL;
        double weighted = 0.0, matched_uj = 0.0, all_uj = 0.0;
        size_t marginal = 0;
        cl_err rc = CL_OK;

        if (m->n_hours > 0) {
                stored = calloc(m->n_hours, sizeof(*stored));
                if (stored == NULL)
                        return cl_fail(CL_ENOMEM, "hourly intensity");
                rc = cl_intensity_load(db, m->hourly_source, m->zone,
                                       m->period_start_ns, m->n_hours, stored);
                if (rc != CL_OK)
                        goto out;
        }
        for (size_t h = 0; h < m->n_hours; h++) {
                struct cl_hour_report *hr = &m->hours[h];
                const struct cl_intensity_hour *ih = &stored[h];
                int usable = ih->has_value && ih->basis != CL_BASIS_MARGINAL;

                if (ih->has_value && ih->basis == CL_BASIS_MARGINAL)
                        marginal++;

                hr->intensity_g_per_kwh = m->official_g_per_kwh;
                hr->intensity_method = CL_METHOD_DECLARED;
                snprintf(hr->intensity_source, sizeof(hr->intensity_source),
                         "gir");
                all_uj += (double)hr->energy_uj;
                if (usable) {
                        hr->has_hourly = 1;
                        hr->hourly_g_per_kwh = ih->g_per_kwh;
                        snprintf(hr->hourly_basis, sizeof(hr->hourly_basis),
                                 "%s", cl_intensity_basis_name(ih->basis));
                        snprintf(hr->hourly_quality, sizeof(hr->hourly_quality),
                                 "%s", cl_intensity_quality_name(ih->quality));
                        snprintf(m->time_matched_basis,
                                 sizeof(m->time_matched_basis), "%s",
                                 hr->hourly_basis);
                        m->hours_hourly++;
                        weighted += (double)hr->energy_uj * ih->g_per_kwh;
                        matched_uj += (double)hr->energy_uj;
                }
                if (!m->hourly_basis)
                        continue;
                if (usable) {
                        hr->intensity_g_per_kwh =
                            ih->basis == CL_BASIS_GENERATION
                                ? ih->g_per_kwh / (1.0 - m->grid_loss)
                                : ih->g_per_kwh;
                        hr->intensity_method =
                            ih->quality == CL_QUALITY_DECLARED
                                ? CL_METHOD_DECLARED
                            : ih->quality == CL_QUALITY_MEASURED
                                ? CL_METHOD_MEASURED
                                : CL_METHOD_ESTIMATED;
                        snprintf(hr->intensity_source,
                                 sizeof(hr->intensity_source), "%s",
                                 m->hourly_source);
                } else {
                        hr->fell_back = 1;
                        m->hours_fallback++;
                }
        }
        if (m->hours_hourly > 0 && matched_uj > 0) {
                m->has_time_matched = 1;
                m->time_matched_g_per_kwh = weighted / matched_uj;
                m->time_matched_share = matched_uj / all_uj;
        } else if (marginal > 0) {
                snprintf(m->intensity_note, sizeof(m->intensity_note),
                         "the %zu stored %s hours for zone %s are marginal "
                         "rates, which are never used for average-based "
                         "totals",
                         marginal, m->hourly_source, m->zone);
        } else if (m->intensity_note[0] == '\0') {
                snprintf(m->intensity_note, sizeof(m->intensity_note),
                         "no %s hours stored for zone %s", m->hourly_source,
                         m->zone);
        }
out:
        free(stored);
        return rc;
}

/*
 * Returns the method of the applied intensity over the period: the one
 * method all hours share, or mixed (hours measured by the source beside
 * hours it estimated or that fell back to the declared factor).
 */
static enum cl_method
hours_method(const struct cl_report_model *m)
{
        enum cl_method first = CL_METHOD_NONE;

        for (size_t h = 0; h < m->n_hours; h++) {
                enum cl_method hm = m->hours[h].intensity_method;

                if (h == 0)
                        first = hm;
                else if (hm != first)
                        return CL_METHOD_MIXED;
        }
        return first;
}

/* Sets the model's summary intensity once the hours are applied. */
static void
summarise_intensity(struct cl_report_model *m)
{
        double g = 0.0;

        if (!m->hourly_basis || m->energy_uj <= 0)
                return;
        for (size_t h = 0; h < m->n_hours; h++)
                g += (double)m->hours[h].energy_uj *
                     m->hours[h].intensity_g_per_kwh;
        m->intensity_g_per_kwh = g / (double)m->energy_uj;
        m->intensity_method = hours_method(m);
        snprintf(m->intensity_source, sizeof(m->intensity_source), "%s",
                 m->hourly_source);
        if (strcmp(m->time_matched_basis, "generation") == 0)
                snprintf(m->intensity_label, sizeof(m->intensity_label),
                         "Time-matched hourly intensity from %s (zone %s), "
                         "converted to the consumption side with %.1f %% "
                         "grid losses; %zu of %zu hours filled from the "
                         "official factor %.1f gCO2eq/kWh",
                         m->hourly_source, m->zone, m->grid_loss * 100.0,
                         m->hours_fallback, m->n_hours, m->official_g_per_kwh);
        else
                snprintf(m->intensity_label, sizeof(m->intensity_label),
                         "Time-matched hourly intensity from %s (zone %s), "
                         "%s side as given; %zu of %zu hours filled from "
                         "the official factor %.1f gCO2eq/kWh",
                         m->hourly_source, m->zone,
                         m->time_matched_basis[0] ? m->time_matched_basis
                                                  : "no hourly value",
                         m->hours_fallback, m->n_hours, m->official_g_per_kwh);
}

static void
set_policy_fields(struct cl_report_model *m, const struct cl_policy *p)
{
        snprintf(m->organisation, sizeof(m->organisation), "%s",
                 p->organisation);
        snprintf(m->policy_name, sizeof(m->policy_name), "%s", p->name);
        snprintf(m->policy_path, sizeof(m->policy_path), "%s", p->path);
        m->grid_reference_g_per_kwh = p->grid_reference_g_per_kwh;
        snprintf(m->grid_reference_origin, sizeof(m->grid_reference_origin),
                 "%s", p->grid_reference_origin);
        m->pue_target = p->pue_target;
        snprintf(m->pue_target_origin, sizeof(m->pue_target_origin), "%s",
                 p->pue_target_origin);
        m->coverage_threshold = p->coverage_threshold;
        m->hourly_basis = p->hourly_basis;
        snprintf(m->hourly_source, sizeof(m->hourly_source), "%s",
                 p->hourly_source);
        snprintf(m->zone, sizeof(m->zone), "%s", p->zone);
        m->grid_loss = p->grid_loss;
        snprintf(m->grid_loss_origin, sizeof(m->grid_loss_origin), "%s",
                 p->grid_loss_origin);
}

cl_err
cl_build_period_model(sqlite3 *db, const struct cl_policy *policy,
                      const char *template_dir, int64_t start_ns,
                      int64_t end_ns, int64_t now_ns, struct cl_report_model *m)
{
        struct cl_emission_factor factor;
        struct cl_meter_totals meter;
        char kst[32];
        int y, mo, d;
        cl_err rc;

        memset(m, 0, sizeof(*m));
        if (end_ns <= start_ns)
                return cl_fail(CL_EINVAL, "empty period: end is not after "
                                          "start");
        /* The label is the KST date of the start: a day, or a range. */
        cl_format_kst(start_ns, kst, sizeof(kst));
        snprintf(m->date, sizeof(m->date), "%.10s", kst);
        m->period_start_ns = start_ns;
        m->period_end_ns = end_ns;
        m->timezone = "Asia/Seoul";
        m->generated_ns = now_ns;
        snprintf(m->program_version, sizeof(m->program_version), "%s",
                 CL_VERSION);
        set_policy_fields(m, policy);

        /* NOTE: a period across a change of year uses its first year's
           official factor. */
        if (sscanf(m->date, "%d-%d-%d", &y, &mo, &d) != 3)
                return cl_fail(CL_EINVAL, "invalid period start");
        rc = cl_factor_select(template_dir, y, policy->factor_notice, &factor);
        if (rc != CL_OK)
                return rc;
        set_intensity(m, &factor);

        rc = cl_meter_totals(db, start_ns, end_ns, &meter);
        if (rc != CL_OK)
                return rc;
        m->meter_coverage =
            (double)meter.covered_ns / (double)(end_ns - start_ns);
        m->meter_facility_kwh = meter.facility_kwh;
        m->meter_it_kwh = meter.it_kwh;
        m->meter_intervals = meter.intervals;
        /* Meter data for part of the period is no PUE of the period. */
        if (meter.intervals > 0 && meter.it_kwh > 0 &&
            m->meter_coverage + 1e-12 >= policy->coverage_threshold) {
                m->pue = meter.facility_kwh / meter.it_kwh;
                m->pue_method = CL_METHOD_MEASURED;
        } else {
                m->pue = policy->pue_declared;
                m->pue_method = CL_METHOD_DECLARED;
        }

        rc = cl_aggregate_period(db, m);
        if (rc == CL_OK)
                rc = apply_hourly_intensity(db, m);
        if (rc != CL_OK) {
                cl_report_model_free(m);
                return rc;
        }
        summarise_intensity(m);
        cl_compliance_apply(m, policy);
        return CL_OK;
}

cl_err
cl_build_day_model(sqlite3 *db, const struct cl_policy *policy,
                   const char *template_dir, const char *date, int64_t now_ns,
                   struct cl_report_model *m)
{
        int64_t start;
        int y, mo, d;
        cl_err rc;

        memset(m, 0, sizeof(*m));
        rc = cl_parse_date(date, &y, &mo, &d);
        if (rc != CL_OK)
                return rc;
        start = cl_kst_day_start_ns(y, mo, d);
        return cl_build_period_model(db, policy, template_dir, start,
                                     start + CL_NS_PER_DAY, now_ns, m);
}

static cl_err
prepare_files(const char *out_dir, const char *date, struct run_files *f)
{
        char name[64];
        cl_err rc;

        memset(f, 0, sizeof(*f));
        for (int i = 0; i < FILE_COUNT; i++) {
                snprintf(name, sizeof(name), "carbonledger-%s%s", date,
                         file_suffix[i]);
                rc = cl_path_join(f->final[i], sizeof(f->final[i]), out_dir,
                                  name);
                if (rc == CL_OK)
                        rc = cl_tmp_path(f->final[i], f->tmp[i],
                                         sizeof(f->tmp[i]));
                if (rc != CL_OK)
                        return rc;
        }
        snprintf(name, sizeof(name), ".carbonledger-%s.unsigned.pdf.tmp", date);
        return cl_path_join(f->unsigned_pdf, sizeof(f->unsigned_pdf), out_dir,
                            name);
}

static void
remove_temporaries(const struct run_files *f)
{
        for (int i = 0; i < FILE_COUNT; i++) {
                unlink(f->tmp[i]);
                if (f->has_backup[i])
                        unlink(f->backup[i]);
        }
        unlink(f->unsigned_pdf);
}

static cl_err
ensure_dir(const char *dir)
{
        struct stat st;

        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
                return cl_fail_errno(CL_EIO, errno, "create output folder %s",
                                     dir);
        if (stat(dir, &st) != 0)
                return cl_fail_errno(CL_EIO, errno, "output folder %s", dir);
        if (!S_ISDIR(st.st_mode))
                return cl_fail(CL_EIO, "output folder %s is not a folder", dir);
        if (access(dir, W_OK) != 0)
                return cl_fail_errno(CL_EIO, errno, "output folder %s", dir);
        return CL_OK;
}

static cl_err
render_all(const struct cl_report_model *m, const struct cl_run_options *opt,
           const struct cl_signer *signer, struct run_files *f)
{
        struct cl_render_options ropt = {
            .font_path = opt->font_path,
            .font_bold_path = opt->font_bold_path,
            .template_dir = opt->template_dir,
            .attach_path = f->tmp[FILE_XLSX],
        };
        struct cl_pdf_sig_info info = {
            .name = cl_signer_subject(signer),
            .reason = "carbonledger daily energy and carbon audit report",
            .location = m->organisation,
            .signing_ns = m->generated_ns,
        };
        char attach_name[64];
        cl_err rc;

        snprintf(attach_name, sizeof(attach_name), "carbonledger-%s.xlsx",
                 m->date);
        ropt.attach_name = attach_name;
        rc = cl_render_json(m, f->tmp[FILE_JSON]);
        if (rc == CL_OK)
                rc = cl_render_xlsx(m, f->tmp[FILE_XLSX]);
        if (rc == CL_OK)
                rc = cl_sign_detached(signer, f->tmp[FILE_XLSX],
                                      f->tmp[FILE_P7S]);
        if (rc == CL_OK)
                rc = cl_render_pdf(m, &ropt, f->unsigned_pdf);
        if (rc == CL_OK)
                rc = cl_sign_pdf(signer, f->unsigned_pdf, f->tmp[FILE_PDF],
                                 &info);
        return rc;
}

/* Verifies what was just signed, so a faulty signature is never shipped. */
static cl_err
self_verify(const struct run_files *f)
{
        struct cl_verify_result v;
        cl_err rc;

        rc = cl_verify_pdf(f->tmp[FILE_PDF], NULL, &v);
        if (rc != CL_OK)
                return rc;
        if (!v.valid || !v.whole_file)
                return cl_fail(CL_EVERIFY, "signed PDF %s does not verify: %s",
                               f->tmp[FILE_PDF], v.detail);
        rc = cl_verify_detached(f->tmp[FILE_XLSX], f->tmp[FILE_P7S], NULL, &v);
        if (rc != CL_OK)
                return rc;
        if (!v.valid)
                return cl_fail(CL_EVERIFY, "signature %s does not verify: %s",
                               f->tmp[FILE_P7S], v.detail);
        return CL_OK;
}

static const char *
base_name(const char *path)
{
        const char *slash = strrchr(path, '/');

        return slash != NULL ? slash + 1 : path;
}

/*
 * Keeps the files of an earlier run under backup names (hard links), so a
 * failed publish can put them back.
 */
static cl_err
backup_previous(struct run_files *f)
{
        for (int i = 0; i < FILE_COUNT; i++) {
                if (snprintf(f->backup[i], sizeof(f->backup[i]), "%s.previous",
                             f->tmp[i]) >= (int)sizeof(f->backup[i]))
                        return cl_fail(CL_EINVAL, "path too long: %s",
                                       f->tmp[i]);
                unlink(f->backup[i]);
                if (link(f->final[i], f->backup[i]) == 0)
                        f->has_backup[i] = 1;
                else if (errno != ENOENT)
                        return cl_fail_errno(CL_EIO, errno,
                                             "keep the earlier report %s",
                                             f->final[i]);
        }
        return CL_OK;
}

/* Puts back what a failed publish replaced or added. */
static void
restore_previous(struct run_files *f)
{
        for (int i = 0; i < FILE_COUNT; i++) {
                if (!f->renamed[i])
                        continue;
                if (f->has_backup[i]) {
                        if (rename(f->backup[i], f->final[i]) != 0) {
                                cl_error("restore_failed",
                                         "file=%s backup=%s error=\"%s\"",
                                         f->final[i], f->backup[i],
                                         strerror(errno));
                                /* Keep the backup for the operator. */
                                f->has_backup[i] = 0;
                        }
                } else {
                        unlink(f->final[i]);
                }
        }
}

/*
 * Records the files in the ledger and renames them, all or nothing: on
 * failure the ledger rolls back and an earlier run's reports of the same
 * day are restored.
 */
static cl_err
publish(sqlite3 *db, const struct cl_report_model *m, struct run_files *f)
{
        cl_err rc;

        rc = backup_previous(f);
        if (rc == CL_OK)
                rc = cl_db_exec(db, "BEGIN IMMEDIATE");
        if (rc != CL_OK)
                return rc;
        for (int i = 0; rc == CL_OK && i < FILE_COUNT; i++)
                rc = cl_ledger_append(db, m->generated_ns, m->period_start_ns,
                                      m->period_end_ns, base_name(f->final[i]),
                                      f->tmp[i]);
        for (int i = 0; rc == CL_OK && i < FILE_COUNT; i++) {
                rc = cl_commit_file(f->tmp[i], f->final[i]);
                f->renamed[i] = rc == CL_OK;
        }
        if (rc == CL_OK)
                rc = cl_db_exec(db, "COMMIT");
        if (rc != CL_OK) {
                sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
                restore_previous(f);
        }
        return rc;
}

static void
fill_result(const struct cl_report_model *m, const struct run_files *f,
            const struct cl_signer *signer, struct cl_run_result *res)
{
        snprintf(res->date, sizeof(res->date), "%s", m->date);
        snprintf(res->json, sizeof(res->json), "%s", f->final[FILE_JSON]);
        snprintf(res->xlsx, sizeof(res->xlsx), "%s", f->final[FILE_XLSX]);
        snprintf(res->p7s, sizeof(res->p7s), "%s", f->final[FILE_P7S]);
        snprintf(res->pdf, sizeof(res->pdf), "%s", f->final[FILE_PDF]);
        snprintf(res->signer, sizeof(res->signer), "%s",
                 cl_signer_subject(signer));
        res->workloads = m->n_workloads;
        res->has_samples = m->has_samples;
        memcpy(res->status_counts, m->status_counts,
               sizeof(res->status_counts));
}

/*
 * Fetches the hours of [start_ns, end_ns) that the policy's hourly source
 * lacks. A failure is no error of the run: the report falls back to the
 * official factor for those hours and note gives the reason.
 */
/* Computes the UTC bounds of the run's day or month. */
static cl_err
period_of(const struct cl_run_options *opt, const char *date, int64_t *start_ns,
          int64_t *end_ns)
{
        int y, mo, d;
        cl_err rc;

        if (opt->month != NULL)
                return cl_parse_month(opt->month, start_ns, end_ns);
        rc = cl_parse_date(date, &y, &mo, &d);
        if (rc != CL_OK)
                return rc;
        *start_ns = cl_kst_day_start_ns(y, mo, d);
        *end_ns = *start_ns + CL_NS_PER_DAY;
        return CL_OK;
}

static void
fetch_hourly(sqlite3 *db, const struct cl_run_options *opt,
             const struct cl_policy *policy, int64_t start_ns, int64_t end_ns,
             char *note, size_t size)
{
        struct cl_fetch_summary sum;
        cl_err rc;

        note[0] = '\0';
        if (opt->offline || opt->intensity == NULL) {
                snprintf(note, size, "not fetched: offline run");
                cl_info("intensity_skipped", "source=%s reason=offline",
                        policy->hourly_source);
                return;
        }
        rc = cl_intensity_fetch(db, opt->intensity, policy->hourly_source,
                                policy->zone, start_ns, end_ns, &sum);
        if (rc == CL_OK) {
                cl_info("intensity_fetched",
                        "source=%s zone=%s stored=%d missing=%d "
                        "already_stored=%d calls=%d",
                        policy->hourly_source, policy->zone, sum.hours_stored,
                        sum.hours_missing, sum.hours_already_stored, sum.calls);
                return;
        }
        snprintf(note, size, "%s fetch failed: %s", policy->hourly_source,
                 cl_last_error());
        cl_warn("intensity_unavailable",
                "source=%s zone=%s quota_blocked=%d error=\"%s\" "
                "effect=\"hours without data use the official factor\"",
                policy->hourly_source, policy->zone, sum.quota_blocked,
                cl_last_error());
}

cl_err
cl_run_nightly(const struct cl_run_options *opt, struct cl_run_result *res)
{
        struct cl_report_model model;
        struct cl_analyses_report *analyses = NULL;
        struct cl_signer *signer = NULL;
        struct cl_policy policy;
        struct run_files files;
        int64_t now_ns = opt->now_ns ? opt->now_ns : cl_now_ns();
        int have_policy = 0, have_model = 0, have_files = 0;
        int64_t period_start = 0, period_end = 0;
        sqlite3 *db = NULL;
        char date[11], note[256];
        cl_err rc;

        memset(res, 0, sizeof(*res));
        if (opt->month != NULL)
                snprintf(date, sizeof(date), "%.7s", opt->month);
        else if (opt->date != NULL)
                snprintf(date, sizeof(date), "%.10s", opt->date);
        else
                cl_yesterday_kst(now_ns, date);
        if (opt->date != NULL && strlen(opt->date) != 10)
                return cl_fail(CL_EINVAL,
                               "invalid date '%s': expected YYYY-MM-DD",
                               opt->date);
        rc = cl_policy_load(opt->template_dir, opt->policy_path, &policy);
        if (rc != CL_OK)
                goto out;
        have_policy = 1;
        rc = cl_signer_load(opt->key_path, opt->cert_path, &signer);
        if (rc != CL_OK)
                goto out;
        rc = cl_db_open(opt->db_path, CL_DB_WRITE, &db);
        if (rc != CL_OK)
                goto out;
        rc = period_of(opt, date, &period_start, &period_end);
        if (rc != CL_OK)
                goto out;
        fetch_hourly(db, opt, &policy, period_start, period_end, note,
                     sizeof(note));
        /* The day's hourly rollups, and retention (rollup.c).
           NOTE: the rollup and the day's report each read the day's raw
           samples once, so the nightly run reads them twice. */
        if (opt->month == NULL)
                rc = cl_rollup_nightly(db, date, opt->retention_days, now_ns);
        if (rc == CL_OK && opt->month != NULL)
                rc = cl_rollup_month_model(db, &policy, opt->template_dir,
                                           opt->month, now_ns, &model);
        else if (rc == CL_OK)
                rc = cl_build_day_model(db, &policy, opt->template_dir, date,
                                        now_ns, &model);
        if (rc != CL_OK)
                goto out;
        have_model = 1;
        if (note[0] != '\0' && !model.has_time_matched) {
                /* Say why the hours fell back, in the checks too. */
                char stored[sizeof(model.intensity_note)];

                snprintf(stored, sizeof(stored), "%s", model.intensity_note);
                snprintf(model.intensity_note, sizeof(model.intensity_note),
                         "%s; %s", note, stored);
                cl_compliance_apply(&model, &policy);
        }
        cl_info("report_model_built",
                "date=%s nodes=%zu workloads=%zu energy_kwh=%.6f "
                "has_samples=%d",
                date, model.n_nodes, model.n_workloads, model.energy_kwh,
                model.has_samples);
        rc = ensure_dir(opt->out_dir);
        if (rc == CL_OK)
                rc = prepare_files(opt->out_dir, date, &files);
        if (rc != CL_OK)
                goto out;
        have_files = 1;
        rc = cl_analyses_report_for_day(db, opt->db_path, &policy,
                                        opt->template_dir, date, now_ns,
                                        &analyses);
        model.analyses = analyses;
        if (rc == CL_OK)
                rc = render_all(&model, opt, signer, &files);
        if (rc == CL_OK)
                rc = self_verify(&files);
        if (rc == CL_OK)
                rc = publish(db, &model, &files);
        if (rc == CL_OK)
                fill_result(&model, &files, signer, res);
out:
        cl_analyses_report_free(analyses);
        if (have_files)
                remove_temporaries(&files);
        if (have_model)
                cl_report_model_free(&model);
        if (have_policy)
                cl_policy_free(&policy);
        cl_signer_free(signer);
        cl_db_close(db);
        return rc;
}
