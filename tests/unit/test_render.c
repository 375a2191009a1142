/*
 * Tests of the PDF and XLSX renderers on models built here: one full day
 * (2 nodes, 60 workloads with Korean and long names, checks with reasons,
 * 24 hours, measured PUE) and one day without samples. Output is checked
 * with the tools an auditor would use: pdftotext, pdffonts, pdfinfo and
 * qpdf from poppler-utils and qpdf, and openpyxl through Debian's
 * /usr/bin/python3 (tests/unit/xlsx_dump.py). Also unit tests of the UTF-8
 * line breaking in pdf_text.c.
 */
#define _XOPEN_SOURCE 700 /* nftw */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "err.h"
#include "pdf_text.h"
#include "render.h"
#include "report_model.h"
#include "timeutil.h"

#include <ftw.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define N_WORKLOADS 60
#define LAST_POD "zz-last-workload-marker"
#define LONG_POD                                                               \
        "very-long-deployment-name-with-many-segments-for-nightly-batch-"      \
        "jobs-5d8f7b9c6d-xk2p9"
#define INTENSITY 459.4
#define PYTHON "/usr/bin/python3"

struct fixture {
        char dir[256];
        struct cl_report_model full;
        struct cl_report_model empty;
};

/* ---- model ---- */

static void
set_check(struct cl_check *c, const char *name, const char *unit, double target,
          double value, enum cl_status result, const char *reason)
{
        snprintf(c->check, sizeof(c->check), "%s", name);
        snprintf(c->unit, sizeof(c->unit), "%s", unit);
        c->has_target = 1;
        c->target = target;
        c->has_value = 1;
        c->value = value;
        c->result = result;
        snprintf(c->reason, sizeof(c->reason), "%s", reason);
}

static void
fill_identity(struct cl_report_model *m)
{
        snprintf(m->organisation, sizeof(m->organisation),
                 "한빛 데이터센터 (Hanbit Data Centre)");
        snprintf(m->date, sizeof(m->date), "2025-10-23");
        m->period_start_ns = cl_kst_day_start_ns(2025, 10, 23);
        m->period_end_ns = m->period_start_ns + CL_NS_PER_DAY;
        m->timezone = "Asia/Seoul";
        m->generated_ns = m->period_end_ns + 10 * 60 * CL_NS_PER_S;
        snprintf(m->program_version, sizeof(m->program_version), "0.1.0");
        snprintf(m->policy_name, sizeof(m->policy_name), "default-kr");
        snprintf(m->policy_path, sizeof(m->policy_path),
                 "/etc/carbonledger/policy.json");
        m->pue_target = 1.4;
        snprintf(m->pue_target_origin, sizeof(m->pue_target_origin),
                 "organisation policy (Green Data Center top bracket)");
        m->intensity_g_per_kwh = INTENSITY;
        m->intensity_method = CL_METHOD_DECLARED;
        snprintf(m->intensity_source, sizeof(m->intensity_source), "gir");
        snprintf(m->intensity_label, sizeof(m->intensity_label),
                 "GIR national electricity factor (test table)");
        m->grid_reference_g_per_kwh = 424.0;
        snprintf(m->grid_reference_origin, sizeof(m->grid_reference_origin),
                 "organisation policy, near the recent Korean annual mean");
        m->coverage_threshold = 0.9;
}

static void
fill_nodes(struct cl_report_model *m)
{
        struct cl_node_report *a, *b;

        m->n_nodes = 2;
        m->nodes = calloc(2, sizeof(*m->nodes));
        assert_non_null(m->nodes);
        a = &m->nodes[0];
        snprintf(a->name, sizeof(a->name), "node-a");
        a->energy_uj = INT64_C(36123456789012);
        a->measured_uj = a->energy_uj;
        a->method = CL_METHOD_MEASURED;
        a->coverage = 0.995;
        a->intervals = 1432;
        a->sampled_ns = 1432 * 60 * CL_NS_PER_S;
        a->gaps = 2;
        a->gap_ns = 8 * 60 * CL_NS_PER_S;
        a->mean_w = 420.5;
        a->peak_w = 612.25;
        set_check(&a->checks[0], "coverage", "%", 90, 99.5, CL_STATUS_COMPLIANT,
                  "Coverage 99.5 % meets the minimum of 90.0 %.");
        a->n_checks = 1;
        b = &m->nodes[1];
        snprintf(b->name, sizeof(b->name),
                 "gpu-node-b.seoul-dc1.rack-17.example.internal");
        b->energy_uj = INT64_C(5432109876543);
        b->measured_uj = INT64_C(4000000000000);
        b->estimated_uj = b->energy_uj - b->measured_uj;
        b->method = CL_METHOD_MIXED;
        b->model_idle_w = 80.0;
        b->model_max_w = 250.0;
        b->coverage = 0.81;
        b->intervals = 1166;
        b->sampled_ns = 1166 * 60 * CL_NS_PER_S;
        b->gaps = 14;
        b->gap_ns = 274 * 60 * CL_NS_PER_S;
        b->scaled_intervals = 3;
        b->mean_w = 77.6;
        b->peak_w = 240.0;
        set_check(&b->checks[0], "coverage", "%", 90, 81.0,
                  CL_STATUS_NON_COMPLIANT,
                  "Coverage 81.0 % is below the minimum of 90.0 %.");
        b->n_checks = 1;
        for (size_t i = 0; i < 2; i++) {
                struct cl_node_report *n = &m->nodes[i];

                n->idle_uj = n->energy_uj / 4;
                n->system_uj = n->energy_uj / 10;
                n->pods_uj = n->energy_uj - n->idle_uj - n->system_uj;
                n->emissions_g = (double)n->energy_uj / 3.6e12 * INTENSITY;
        }
}

static void
workload_names(struct cl_workload_report *w, size_t i)
{
        static const char *const namespaces[] = {"결제", "payments",
                                                 "kube-system", ""};

        snprintf(w->namespace_, sizeof(w->namespace_), "%s", namespaces[i % 4]);
        if (i == N_WORKLOADS - 1)
                snprintf(w->pod, sizeof(w->pod), LAST_POD);
        else if (i == 5)
                snprintf(w->pod, sizeof(w->pod), "결제-서비스-승인처리기-05");
        else if (i % 7 == 0)
                snprintf(w->pod, sizeof(w->pod), LONG_POD "-%02zu", i);
        else
                snprintf(w->pod, sizeof(w->pod), "api-server-%02zu-7f9c8d6b5",
                         i);
        snprintf(w->pod_uid, sizeof(w->pod_uid),
                 "6f1c2d3e-0000-4000-8000-%012zu", i);
        snprintf(w->node, sizeof(w->node), "%s",
                 i % 2 ? "node-a" : "gpu-node-b");
}

static void
workload_checks(struct cl_workload_report *w, size_t i)
{
        char reason[320];

        if (i == 7) {
                /* A long Korean run without spaces must still wrap. */
                snprintf(reason, sizeof(reason),
                         "측정범위가정책의최소값보다"
                         "작아서배출량을판정하지"
                         "않았습니다측정범위가정책의"
                         "최소값보다작아서배출량을"
                         "판정하지않았습니다");
        } else {
                snprintf(reason, sizeof(reason),
                         "Coverage %.1f %% against the minimum of 90.0 %%; "
                         "the pod ran %.1f h of its %.1f h span.",
                         w->coverage * 100, w->run_s / 3600, w->span_s / 3600);
        }
        set_check(&w->checks[0], "coverage", "%", 90, w->coverage * 100,
                  w->coverage >= 0.9 ? CL_STATUS_COMPLIANT
                                     : CL_STATUS_INSUFFICIENT_DATA,
                  reason);
        snprintf(reason, sizeof(reason),
                 "Emissions rate %.3f gCO2eq/h against a budget of 5.000 "
                 "gCO2eq/h.",
                 w->emissions_rate_g_per_h);
        set_check(&w->checks[1], "emissions_rate", "gCO2eq/h", 5.0,
                  w->emissions_rate_g_per_h, w->status, reason);
        w->n_checks = i % 11 == 10 ? 0 : 2;
}

static void
fill_workloads(struct cl_report_model *m)
{
        static const enum cl_method methods[] = {
            CL_METHOD_ATTRIBUTED, CL_METHOD_ESTIMATED, CL_METHOD_MIXED};

        m->n_workloads = N_WORKLOADS;
        m->workloads = calloc(N_WORKLOADS, sizeof(*m->workloads));
        assert_non_null(m->workloads);
        for (size_t i = 0; i < N_WORKLOADS; i++) {
                struct cl_workload_report *w = &m->workloads[i];
                double kwh;

                workload_names(w, i);
                w->energy_uj = INT64_C(1234567891) + (int64_t)i * 987654321;
                kwh = (double)w->energy_uj / 3.6e12;
                w->span_s = 3600.0 * (2 + i % 20);
                w->run_s = w->span_s * (i % 5 == 0 ? 0.8 : 0.97);
                w->coverage = w->run_s / w->span_s;
                w->cpu_s = w->run_s * 0.37;
                w->mean_w = (double)w->energy_uj / 1e6 / w->run_s;
                w->peak_w = w->mean_w * 1.8;
                w->emissions_g = kwh * INTENSITY;
                w->emissions_rate_g_per_h = w->emissions_g / (w->run_s / 3600);
                w->method = methods[i % 3];
                w->status = (enum cl_status)(i % CL_STATUS_COUNT);
                workload_checks(w, i);
                m->status_counts[w->status]++;
        }
}

static void
fill_totals(struct cl_report_model *m)
{
        int64_t measured = 0;

        m->energy_uj = 0;
        for (size_t i = 0; i < m->n_nodes; i++) {
                m->energy_uj += m->nodes[i].energy_uj;
                measured += m->nodes[i].measured_uj;
        }
        m->energy_kwh = (double)m->energy_uj / 3.6e12;
        m->emissions_g = m->energy_kwh * INTENSITY;
        m->measured_share =
            m->energy_uj ? (double)measured / (double)m->energy_uj : 0;
        m->n_hours = 24;
        m->hours = calloc(m->n_hours, sizeof(*m->hours));
        assert_non_null(m->hours);
        for (size_t h = 0; h < 24; h++) {
                struct cl_hour_report *r = &m->hours[h];

                r->start_ns = m->period_start_ns + (int64_t)h * CL_NS_PER_HOUR;
                r->sampled_ns = CL_NS_PER_HOUR;
                r->energy_uj = m->energy_uj / 24;
                r->intensity_g_per_kwh = INTENSITY;
                r->emissions_g = (double)r->energy_uj / 3.6e12 * INTENSITY;
        }
}

static void
build_full(struct cl_report_model *m)
{
        memset(m, 0, sizeof(*m));
        fill_identity(m);
        fill_nodes(m);
        fill_workloads(m);
        fill_totals(m);
        m->pue = 1.35;
        m->pue_method = CL_METHOD_MEASURED;
        m->meter_facility_kwh = 15.012;
        m->meter_it_kwh = 11.12;
        m->meter_intervals = 96;
        m->facility_emissions_g = m->emissions_g * m->pue;
        set_check(&m->site_checks[0], "grid_intensity", "gCO2eq/kWh", 424.0,
                  INTENSITY, CL_STATUS_NON_COMPLIANT,
                  "Grid intensity 459.4 gCO2eq/kWh is above the reference "
                  "424.0 gCO2eq/kWh of the organisation policy.");
        set_check(&m->site_checks[1], "pue", "ratio", 1.4, 1.35,
                  CL_STATUS_COMPLIANT,
                  "PUE 1.350 measured from meter data meets the target "
                  "1.40.");
        m->n_site_checks = 2;
        m->has_samples = 1;
}

static void
build_empty(struct cl_report_model *m)
{
        memset(m, 0, sizeof(*m));
        fill_identity(m);
        fill_totals(m);
        m->pue = 1.6;
        m->pue_method = CL_METHOD_DECLARED;
        m->has_samples = 0;
}

/* ---- files and tools ---- */

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

static int
setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        const char *tmp = getenv("TMPDIR");

        if (!f)
                return -1;
        snprintf(f->dir, sizeof(f->dir), "%s/cl-render-XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(f->dir)) {
                free(f);
                return -1;
        }
        build_full(&f->full);
        build_empty(&f->empty);
        *state = f;
        return 0;
}

static int
teardown(void **state)
{
        struct fixture *f = *state;

        /* CL_TEST_KEEP=1 keeps the rendered files for a look at them. */
        if (getenv("CL_TEST_KEEP"))
                fprintf(stderr, "kept rendered files in %s\n", f->dir);
        else
                nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        cl_report_model_free(&f->full);
        cl_report_model_free(&f->empty);
        free(f);
        return 0;
}

static void
path_in(const struct fixture *f, const char *name, char *buf, size_t size)
{
        int n = snprintf(buf, size, "%s/%s", f->dir, name);

        assert_true(n > 0 && (size_t)n < size);
}

/* Runs cmd with sh and returns its stdout (caller frees) and status. */
static char *
run(const char *cmd, int *status)
{
        FILE *p = popen(cmd, "r");
        char *out = NULL;
        size_t len = 0, cap = 0, n;
        char chunk[4096];
        int rc;

        assert_non_null(p);
        while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0) {
                if (len + n + 1 > cap) {
                        cap = (len + n + 1) * 2;
                        out = realloc(out, cap);
                        assert_non_null(out);
                }
                memcpy(out + len, chunk, n);
                len += n;
        }
        if (!out) {
                out = malloc(1);
                assert_non_null(out);
        }
        out[len] = '\0';
        rc = pclose(p);
        *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
        return out;
}

/* Runs the command formatted from fmt, asserts exit status 0. */
static char *run_ok(const char *fmt, ...) CL_PRINTF(1, 2);

static char *
run_ok(const char *fmt, ...)
{
        char cmd[1024];
        int status, n;
        char *out;
        va_list ap;

        va_start(ap, fmt);
        n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        assert_true(n > 0 && (size_t)n < sizeof(cmd));
        out = run(cmd, &status);
        if (status != 0)
                fprintf(stderr, "command failed (%d): %s\n%s\n", status, cmd,
                        out);
        assert_int_equal(status, 0);
        return out;
}

static struct cl_render_options
options(const char *attach_path, const char *attach_name)
{
        struct cl_render_options opt = {
            .font_path = "/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
            .font_bold_path =
                "/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf",
            .template_dir = CL_SOURCE_DIR "/templates",
            .attach_path = attach_path,
            .attach_name = attach_name,
        };
        return opt;
}

static void
render_pdf(const struct cl_report_model *m, const char *path)
{
        struct cl_render_options opt = options(NULL, NULL);
        cl_err err = cl_render_pdf(m, &opt, path);

        if (err != CL_OK)
                fprintf(stderr, "cl_render_pdf: %s\n", cl_last_error());
        assert_int_equal(err, CL_OK);
}

static void
assert_contains(const char *haystack, const char *needle)
{
        if (!strstr(haystack, needle))
                fail_msg("output lacks \"%s\"", needle);
}

static void
assert_lacks(const char *haystack, const char *needle)
{
        if (strstr(haystack, needle))
                fail_msg("output has \"%s\"", needle);
}

/* ---- PDF ---- */

static void
test_pdf_full_model_text(void **state)
{
        struct fixture *f = *state;
        char path[512];
        char *text;
        struct stat st;

        path_in(f, "full.pdf", path, sizeof(path));
        render_pdf(&f->full, path);
        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_size > 10000);
        text = run_ok("pdftotext -layout '%s' -", path);
        assert_contains(text, "에너지·탄소 감사 보고서");
        assert_contains(text, "Energy and Carbon Audit Report");
        assert_contains(text, "한빛 데이터센터");
        assert_contains(text, "2025-10-23 00:00 – 24:00 KST");
        assert_contains(text, "UTC 2025-10-22T15:00Z – 2025-10-23T15:00Z");
        assert_contains(text, "1. 요약");
        assert_contains(text, "Summary");
        assert_contains(text, "kWh");
        assert_contains(text, "kgCO2eq");
        assert_contains(text, "gCO2eq");
        assert_contains(text, "Energy (Wh)");
        assert_contains(text, "결제");
        assert_contains(text, "api-server-01-7f9c8d6b5");
        /* The last row of the workload table, after a page break. */
        assert_contains(text, LAST_POD);
        assert_contains(text, "Verdicts per workload");
        assert_contains(text, "NON_COMPLIANT");
        assert_contains(text, "5. 산정 방법");
        assert_contains(text, "RAPL");
        assert_contains(text, "424 gCO2eq/kWh");
        assert_contains(text, "P_idle 80.0 W, P_max 250.0 W");
        assert_contains(text, "page 1 /");
        /* Totals: 11.5432 kWh of IT energy at 459.4 gCO2eq/kWh. */
        assert_contains(text, "11.5432 kWh");
        assert_contains(text, "5.303 kgCO2eq");
        assert_lacks(text, "This day has no samples");
        free(text);
}

static void
test_pdf_long_names_shortened(void **state)
{
        struct fixture *f = *state;
        char path[512];
        char *text;

        path_in(f, "names.pdf", path, sizeof(path));
        render_pdf(&f->full, path);
        text = run_ok("pdftotext -layout '%s' -", path);
        /* The workload table shortens a long pod name with "...". */
        assert_contains(text, "very-long-deployment-name");
        assert_contains(text, "...");
        /* The Korean reason without spaces is broken, not dropped. */
        assert_contains(text, "측정범위가정책의");
        assert_contains(text, "판정하지않았습니다");
        free(text);
}

static void
test_pdf_fonts_embedded(void **state)
{
        struct fixture *f = *state;
        char path[512];
        char *out, *line, *end;
        int nanum = 0;

        path_in(f, "fonts.pdf", path, sizeof(path));
        render_pdf(&f->full, path);
        out = run_ok("pdffonts '%s'", path);
        for (line = out; *line; line = end + 1) {
                char emb[8] = "";

                end = strchr(line, '\n');
                if (!end)
                        break;
                *end = '\0';
                if (!strstr(line, "NanumGothic"))
                        continue;
                nanum++;
                /* Columns after the name: type, encoding, emb, sub, uni. */
                assert_non_null(strstr(line, "Identity-H"));
                assert_int_equal(
                    sscanf(strstr(line, "Identity-H") + 10, "%7s", emb), 1);
                assert_string_equal(emb, "yes");
        }
        assert_int_equal(nanum, 2);
        free(out);
}

static void
test_pdf_pages_and_qpdf(void **state)
{
        struct fixture *f = *state;
        char path[512];
        char *out, *pages;
        long count;

        path_in(f, "pages.pdf", path, sizeof(path));
        render_pdf(&f->full, path);
        out = run_ok("pdfinfo '%s'", path);
        pages = strstr(out, "Pages:");
        assert_non_null(pages);
        count = strtol(pages + 6, NULL, 10);
        assert_true(count > 3);
        assert_contains(out, "Energy and Carbon Audit Report");
        assert_contains(out, "carbonledger 0.1.0");
        assert_contains(out, "A4");
        free(out);
        out = run_ok("qpdf --check '%s'", path);
        assert_contains(out, "No syntax or stream encoding errors");
        free(out);
}

static void
test_pdf_no_samples_notice(void **state)
{
        struct fixture *f = *state;
        char path[512];
        char *text;

        path_in(f, "empty.pdf", path, sizeof(path));
        render_pdf(&f->empty, path);
        text = run_ok("pdftotext -layout '%s' -", path);
        assert_contains(text, "측정 표본이 하나도 없습니다");
        assert_contains(text, "This day has no samples at all");
        assert_contains(text, "There are no workloads on this day.");
        assert_contains(text, "5. 산정 방법");
        assert_contains(text, "Declared by policy default-kr");
        free(text);
        free(run_ok("qpdf --check '%s'", path));
}

static void
test_pdf_attachment_bare_name(void **state)
{
        struct fixture *f = *state;
        char sub[512], attach[600], path[512];
        struct cl_render_options opt;
        char *out;
        FILE *fp;

        path_in(f, "sub", sub, sizeof(sub));
        assert_int_equal(mkdir(sub, 0755), 0);
        snprintf(attach, sizeof(attach), "%s/report.tmp.json", sub);
        fp = fopen(attach, "w");
        assert_non_null(fp);
        fputs("{\"date\":\"2025-10-23\"}\n", fp);
        assert_int_equal(fclose(fp), 0);
        path_in(f, "attach.pdf", path, sizeof(path));
        opt = options(attach, "carbonledger-2025-10-23.json");
        assert_int_equal(cl_render_pdf(&f->full, &opt, path), CL_OK);
        out = run_ok("qpdf --list-attachments '%s'", path);
        assert_contains(out, "carbonledger-2025-10-23.json ->");
        assert_lacks(out, sub);
        free(out);
        out = run_ok("qpdf --show-attachment=carbonledger-2025-10-23.json "
                     "'%s'",
                     path);
        assert_string_equal(out, "{\"date\":\"2025-10-23\"}\n");
        free(out);
        /* qpdf exits with 3 on warnings, such as a wrong /Type. */
        out = run_ok("qpdf --check '%s' 2>&1", path);
        assert_lacks(out, "WARNING");
        free(out);
}

static void
test_pdf_output_reproducible(void **state)
{
        struct fixture *f = *state;
        char a[512], b[512], cmd[1200];
        int status;

        path_in(f, "repro-a.pdf", a, sizeof(a));
        path_in(f, "repro-b.pdf", b, sizeof(b));
        render_pdf(&f->full, a);
        render_pdf(&f->full, b);
        snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
        free(run(cmd, &status));
        assert_int_equal(status, 0);
}

static void
test_pdf_german_locale(void **state)
{
        struct fixture *f = *state;
        char path[512];
        char *text;

        if (!setlocale(LC_ALL, "de_DE.UTF-8")) {
                /* Generate it with: localedef -i de_DE -f UTF-8 de_DE.UTF-8 */
                skip();
        }
        path_in(f, "de.pdf", path, sizeof(path));
        render_pdf(&f->full, path);
        assert_string_equal(localeconv()->decimal_point, ",");
        setlocale(LC_ALL, "C");
        text = run_ok("pdftotext -layout '%s' -", path);
        assert_contains(text, "11.5432 kWh");
        assert_lacks(text, "11,5432");
        free(text);
}

static void
test_pdf_missing_folder_fails(void **state)
{
        struct fixture *f = *state;
        struct cl_render_options opt = options(NULL, NULL);
        char path[512];
        cl_err err;

        path_in(f, "no-such-folder/report.pdf", path, sizeof(path));
        err = cl_render_pdf(&f->full, &opt, path);
        assert_int_equal(err, CL_EIO);
        assert_non_null(strstr(cl_last_error(), path));
        assert_non_null(strstr(cl_last_error(), "No such file"));
}

static void
test_pdf_missing_font_fails(void **state)
{
        struct fixture *f = *state;
        struct cl_render_options opt = options(NULL, NULL);
        char path[512];

        opt.font_path = CL_SOURCE_DIR "/no-such-font.ttf";
        path_in(f, "nofont.pdf", path, sizeof(path));
        assert_int_equal(cl_render_pdf(&f->full, &opt, path), CL_EIO);
        assert_non_null(strstr(cl_last_error(), "no-such-font.ttf"));
}

static void
test_pdf_bad_attach_name_rejected(void **state)
{
        struct fixture *f = *state;
        struct cl_render_options opt;
        char path[512];

        path_in(f, "badname.pdf", path, sizeof(path));
        opt = options(CL_SOURCE_DIR "/templates/report-text.json",
                      "../escape.json");
        assert_int_equal(cl_render_pdf(&f->full, &opt, path), CL_EINVAL);
        assert_non_null(strstr(cl_last_error(), "../escape.json"));
}

/* ---- UTF-8 layout ---- */

/* Every character is 1 point wide, whatever its byte count. */
static double
char_count_width(const char *text, size_t len, void *ctx)
{
        double w = 0;

        (void)ctx;
        for (size_t i = 0; i < len; i++)
                if (((unsigned char)text[i] & 0xC0) != 0x80)
                        w += 1;
        return w;
}

static void
test_text_break_korean_run(void **state)
{
        const char *s = "가나다라마바사아자차";
        size_t next, n;

        (void)state;
        /* Ten Hangul syllables of 3 bytes, 4 points a line. */
        n = cl_text_break(s, strlen(s), 4, char_count_width, NULL, &next);
        assert_int_equal(n, 12);
        assert_int_equal(next, 12);
        assert_memory_equal(s, "가나다라", 12);
}

static void
test_text_break_prefers_spaces(void **state)
{
        const char *s = "측정 범위가 작습니다";
        size_t next, n;

        (void)state;
        n = cl_text_break(s, strlen(s), 7, char_count_width, NULL, &next);
        assert_int_equal(n, strlen("측정 범위가"));
        assert_string_equal(s + next, "작습니다");
}

static void
test_text_break_newline(void **state)
{
        const char *s = "ko\nen";
        size_t next, n;

        (void)state;
        n = cl_text_break(s, strlen(s), 100, char_count_width, NULL, &next);
        assert_int_equal(n, 2);
        assert_int_equal(next, 3);
}

static void
test_text_ellipsize_utf8_boundary(void **state)
{
        char out[64];

        (void)state;
        assert_int_equal(cl_text_ellipsize("결제-서비스-승인", 6,
                                           char_count_width, NULL, out,
                                           sizeof(out)),
                         1);
        assert_string_equal(out, "결제-...");
        assert_int_equal(cl_text_ellipsize("short", 6, char_count_width, NULL,
                                           out, sizeof(out)),
                         0);
        assert_string_equal(out, "short");
}

static void
test_text_sanitize_non_bmp(void **state)
{
        char out[64];

        (void)state;
        /* U+1F600 is outside the BMP, 0xFF is not UTF-8, \t is control. */
        cl_text_sanitize("a\xF0\x9F\x98\x80"
                         "b\xFF"
                         "c\td한",
                         out, sizeof(out));
        assert_string_equal(out, "a?b?c?d한");
        cl_text_sanitize("한글", out, 5);
        assert_string_equal(out, "한");
}

static void
test_text_printf_cuts_whole_chars(void **state)
{
        char out[6];

        (void)state;
        assert_int_equal(cl_text_printf(out, sizeof(out), "%s", "a한글"), 1);
        assert_string_equal(out, "a한");
        assert_int_equal(cl_text_printf(out, sizeof(out), "%s", "ab한"), 0);
        assert_string_equal(out, "ab한");
}

/* ---- XLSX ---- */

static void
render_xlsx(const struct cl_report_model *m, const char *path)
{
        cl_err err = cl_render_xlsx(m, path);

        if (err != CL_OK)
                fprintf(stderr, "cl_render_xlsx: %s\n", cl_last_error());
        assert_int_equal(err, CL_OK);
}

static char *
dump_xlsx(const char *path)
{
        char cmd[1200];
        int status;
        char *out;

        snprintf(cmd, sizeof(cmd),
                 PYTHON " '" CL_SOURCE_DIR "/tests/unit/xlsx_dump.py' '%s'",
                 path);
        out = run(cmd, &status);
        assert_int_equal(status, 0);
        return out;
}

/*
 * Finds cell ref ("Workloads!F5") in a dump; copies its type and value
 * text. Returns 0 when the cell is empty.
 */
static int
find_cell(const char *dump, const char *ref, char *type, char *value,
          size_t size)
{
        size_t len = strlen(ref);
        const char *p = dump;

        while ((p = strstr(p, ref)) != NULL) {
                if ((p == dump || p[-1] == '\n') && p[len] == '\t') {
                        const char *v = p + len + 1;
                        const char *tab = strchr(v, '\t');
                        const char *end;

                        if (!tab)
                                return 0;
                        snprintf(type, 4, "%.*s", (int)(tab - v), v);
                        end = strchr(tab + 1, '\n');
                        if (!end)
                                end = tab + 1 + strlen(tab + 1);
                        snprintf(value, size, "%.*s", (int)(end - tab - 1),
                                 tab + 1);
                        return 1;
                }
                p += len;
        }
        return 0;
}

/* Asserts that ref is a numeric cell equal to expected. */
static void
assert_number_cell(const char *dump, const char *ref, double expected)
{
        char type[4], value[128];
        double got;

        if (!find_cell(dump, ref, type, value, sizeof(value)))
                fail_msg("cell %s is empty", ref);
        if (strcmp(type, "n") != 0)
                fail_msg("cell %s has type %s, not n", ref, type);
        got = strtod(value, NULL);
        /* libxlsxwriter 1.1.4 writes 16 significant digits ("%.16G"), so
           the last of the 17 a double may need can differ. */
        if (fabs(got - expected) > fabs(expected) * 1e-15)
                fail_msg("cell %s is %s, expected %.17g", ref, value, expected);
}

static void
assert_string_cell(const char *dump, const char *ref, const char *expected)
{
        char type[4], value[512];

        if (!find_cell(dump, ref, type, value, sizeof(value)))
                fail_msg("cell %s is empty", ref);
        if (strcmp(type, "s") != 0)
                fail_msg("cell %s has type %s, not s", ref, type);
        assert_string_equal(value, expected);
}

/* Returns the row of key in column A of the Summary sheet, or 0. */
static int
summary_row(const char *dump, const char *key)
{
        char pattern[128];
        const char *p;

        snprintf(pattern, sizeof(pattern), "\ts\t%s\n", key);
        p = strstr(dump, pattern);
        if (!p)
                return 0;
        while (p > dump && p[-1] != '\n')
                p--;
        if (strncmp(p, "Summary!A", 9) != 0)
                return 0;
        return (int)strtol(p + 9, NULL, 10);
}

static void
assert_summary_number(const char *dump, const char *key, double expected)
{
        char ref[64];
        int row = summary_row(dump, key);

        if (row == 0)
                fail_msg("Summary has no key %s", key);
        snprintf(ref, sizeof(ref), "Summary!B%d", row);
        assert_number_cell(dump, ref, expected);
}

static void
test_xlsx_sheets_and_headers(void **state)
{
        struct fixture *f = *state;
        char path[512];
        char *dump;

        path_in(f, "full.xlsx", path, sizeof(path));
        render_xlsx(&f->full, path);
        dump = dump_xlsx(path);
        assert_contains(dump, "sheets\tSummary\tWorkloads\tNodes\tHours\t"
                              "Method\n");
        assert_string_cell(dump, "Workloads!E1", "Energy (J)");
        assert_string_cell(dump, "Workloads!F1", "Energy (kWh)");
        assert_string_cell(dump, "Workloads!K1", "Mean power (W)");
        assert_string_cell(dump, "Workloads!M1", "Emissions (gCO2eq)");
        assert_string_cell(dump, "Workloads!J1", "Coverage (ratio 0-1)");
        assert_string_cell(dump, "Workloads!Q1", "coverage target (%)");
        assert_string_cell(dump, "Nodes!C1", "Energy (kWh)");
        assert_string_cell(dump, "Hours!D1", "Energy (J)");
        assert_string_cell(dump, "Hours!E1", "Energy (kWh)");
        assert_string_cell(dump, "Hours!M1", "Emissions (gCO2eq)");
        assert_string_cell(dump, "Hours!L1", "Fell back to official factor");
        assert_string_cell(dump, "Summary!C1", "Unit");
        assert_contains(dump, "panes\tSummary\tA2\n");
        assert_contains(dump, "panes\tWorkloads\tA2\n");
        assert_contains(dump, "filter\tWorkloads\tA1:");
        free(dump);
}

static void
test_xlsx_values_match_model(void **state)
{
        struct fixture *f = *state;
        const struct cl_report_model *m = &f->full;
        const struct cl_workload_report *w3 = &m->workloads[3];
        char path[512];
        char *dump;

        path_in(f, "values.xlsx", path, sizeof(path));
        render_xlsx(m, path);
        dump = dump_xlsx(path);
        /* Workload 3 is on row 5: row 1 is the header. */
        assert_string_cell(dump, "Workloads!C5", w3->pod);
        assert_number_cell(dump, "Workloads!E5", (double)w3->energy_uj / 1e6);
        assert_number_cell(dump, "Workloads!F5",
                           (double)w3->energy_uj / 3.6e12);
        assert_number_cell(dump, "Workloads!K5", w3->mean_w);
        assert_number_cell(dump, "Workloads!M5", w3->emissions_g);
        assert_string_cell(dump, "Workloads!O5", "attributed");
        assert_string_cell(dump, "Workloads!P5", "INSUFFICIENT_DATA");
        assert_number_cell(dump, "Workloads!Q5", 90.0);
        assert_number_cell(dump, "Workloads!R5", w3->coverage * 100);
        assert_string_cell(dump, "Workloads!C61", LAST_POD);
        assert_summary_number(dump, "energy_kwh", m->energy_kwh);
        assert_summary_number(dump, "energy_j", (double)m->energy_uj / 1e6);
        assert_summary_number(dump, "emissions_g", m->emissions_g);
        assert_summary_number(dump, "facility_emissions_g",
                              m->facility_emissions_g);
        assert_summary_number(dump, "pue", 1.35);
        assert_summary_number(dump, "measured_share", m->measured_share);
        assert_summary_number(dump, "intensity_g_per_kwh", INTENSITY);
        assert_summary_number(dump, "site_check.grid_intensity.target", 424);
        assert_summary_number(dump, "workloads_COMPLIANT", 15);
        assert_number_cell(dump, "Nodes!C3",
                           (double)m->nodes[1].energy_uj / 3.6e12);
        assert_number_cell(dump, "Hours!B2", 0);
        assert_number_cell(dump, "Hours!B25", 23);
        assert_string_cell(dump, "Hours!A2", "2025-10-22T15:00:00Z");
        assert_lacks(dump, "\tf\t");
        free(dump);
}

static void
test_xlsx_german_locale(void **state)
{
        struct fixture *f = *state;
        const struct cl_workload_report *w3 = &f->full.workloads[3];
        char path[512];
        char *dump;

        if (!setlocale(LC_ALL, "de_DE.UTF-8")) {
                /* Generate it with: localedef -i de_DE -f UTF-8 de_DE.UTF-8 */
                skip();
        }
        assert_string_equal(localeconv()->decimal_point, ",");
        path_in(f, "de.xlsx", path, sizeof(path));
        render_xlsx(&f->full, path);
        /* The renderer restored the caller's locale. */
        assert_string_equal(localeconv()->decimal_point, ",");
        setlocale(LC_ALL, "C");
        dump = dump_xlsx(path);
        assert_number_cell(dump, "Workloads!F5",
                           (double)w3->energy_uj / 3.6e12);
        assert_summary_number(dump, "pue", 1.35);
        free(dump);
}

static void
test_xlsx_empty_model(void **state)
{
        struct fixture *f = *state;
        char path[512];
        char *dump;

        path_in(f, "empty.xlsx", path, sizeof(path));
        render_xlsx(&f->empty, path);
        dump = dump_xlsx(path);
        assert_summary_number(dump, "has_samples", 0);
        assert_summary_number(dump, "energy_kwh", 0);
        assert_string_cell(dump, "Workloads!A1", "Node");
        assert_lacks(dump, "Workloads!A2\t");
        free(dump);
}

static void
test_xlsx_output_reproducible(void **state)
{
        struct fixture *f = *state;
        char a[512], b[512], cmd[1200];
        int status;

        path_in(f, "repro-a.xlsx", a, sizeof(a));
        path_in(f, "repro-b.xlsx", b, sizeof(b));
        render_xlsx(&f->full, a);
        render_xlsx(&f->full, b);
        snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
        free(run(cmd, &status));
        assert_int_equal(status, 0);
}

static void
test_xlsx_missing_folder_fails(void **state)
{
        struct fixture *f = *state;
        char path[512];

        path_in(f, "no-such-folder/report.xlsx", path, sizeof(path));
        assert_int_equal(cl_render_xlsx(&f->full, path), CL_EIO);
        assert_non_null(strstr(cl_last_error(), path));
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_pdf_full_model_text),
            cmocka_unit_test(test_pdf_long_names_shortened),
            cmocka_unit_test(test_pdf_fonts_embedded),
            cmocka_unit_test(test_pdf_pages_and_qpdf),
            cmocka_unit_test(test_pdf_no_samples_notice),
            cmocka_unit_test(test_pdf_attachment_bare_name),
            cmocka_unit_test(test_pdf_output_reproducible),
            cmocka_unit_test(test_pdf_german_locale),
            cmocka_unit_test(test_pdf_missing_folder_fails),
            cmocka_unit_test(test_pdf_missing_font_fails),
            cmocka_unit_test(test_pdf_bad_attach_name_rejected),
            cmocka_unit_test(test_text_break_korean_run),
            cmocka_unit_test(test_text_break_prefers_spaces),
            cmocka_unit_test(test_text_break_newline),
            cmocka_unit_test(test_text_ellipsize_utf8_boundary),
            cmocka_unit_test(test_text_sanitize_non_bmp),
            cmocka_unit_test(test_text_printf_cuts_whole_chars),
            cmocka_unit_test(test_xlsx_sheets_and_headers),
            cmocka_unit_test(test_xlsx_values_match_model),
            cmocka_unit_test(test_xlsx_german_locale),
            cmocka_unit_test(test_xlsx_empty_model),
            cmocka_unit_test(test_xlsx_output_reproducible),
            cmocka_unit_test(test_xlsx_missing_folder_fails),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
