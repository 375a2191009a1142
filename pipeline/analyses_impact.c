/*
 * compare_optimization_impact and get_regional_comparison: what-if
 * emissions of the selected energy. Each effect is a factor on the
 * facility emissions (IT energy x factor x PUE); effects combine by
 * multiplying their factors, so together they never remove more than
 * everything. Results of both are estimates built from the measured or
 * estimated energy and the declared values they name.
 */
#include "analyses_internal.h"

#include "timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UJ_PER_KWH 3.6e12
#define MAX_EFFECTS 4

/* The energy an impact analysis works on. */
struct base {
        int64_t energy_uj;
        enum cl_method method;
        double run_s; /* longest run of a selected pod; 0 for the cluster */
        double it_g;
        double facility_g;
};

/* The nodes' energy for the whole cluster, else the selected pods'. */
static void
base_of(const struct cl_an_data *d, struct base *b)
{
        struct cl_an_totals t;

        memset(b, 0, sizeof(*b));
        if (strcmp(d->selection, "cluster") == 0) {
                b->energy_uj = d->model.energy_uj;
                b->method = cl_an_model_energy_method(&d->model);
        } else {
                cl_an_selected_totals(d, &t);
                b->energy_uj = t.energy_uj;
                b->method = t.method;
                b->run_s = t.run_s;
        }
        b->it_g =
            (double)b->energy_uj / UJ_PER_KWH * d->model.intensity_g_per_kwh;
        b->facility_g = b->it_g * d->model.pue;
}

static json_object *
base_json(const struct cl_an_data *d, const struct base *b)
{
        json_object *o = json_object_new_object();

        cl_an_put_num(o, "energy_j", (double)b->energy_uj / 1e6);
        cl_an_put_num(o, "energy_kwh", (double)b->energy_uj / UJ_PER_KWH);
        cl_an_put_str(o, "energy_method", cl_method_name(b->method));
        cl_an_put_str(o, "energy_of",
                      strcmp(d->selection, "cluster") == 0
                          ? "every node (pods, idle and system)"
                          : "the selected pods");
        cl_an_put_num(o, "emissions_g", b->it_g);
        cl_an_put_str(
            o, "emissions_method",
            cl_method_name(cl_an_emissions_method(b->method, &d->model, 0)));
        cl_an_put_num(o, "facility_emissions_g", b->facility_g);
        cl_an_put_str(
            o, "facility_emissions_method",
            cl_method_name(cl_an_emissions_method(b->method, &d->model, 1)));
        cl_an_put_str(o, "factor_basis", cl_an_intensity_basis(&d->model));
        cl_an_put_num(o, "factor_g_per_kwh", d->model.intensity_g_per_kwh);
        cl_an_put_str(o, "factor_method",
                      cl_method_name(d->model.intensity_method));
        cl_an_put_num(o, "pue", d->model.pue);
        cl_an_put_str(o, "pue_method", cl_method_name(d->model.pue_method));
        return o;
}

struct effect {
        const char *name;
        char parameter[160];
        double reduction; /* fraction; negative is an increase */
        char basis[512];
};

static json_object *
effect_json(const struct effect *e, double baseline_g)
{
        json_object *o = json_object_new_object();
        double after = baseline_g * (1.0 - e->reduction);

        cl_an_put_str(o, "effect", e->name);
        cl_an_put_str(o, "parameter", e->parameter);
        cl_an_put_num(o, "reduction_percent", 100.0 * e->reduction);
        cl_an_put_num(o, "facility_emissions_after_g", after);
        cl_an_put_num(o, "saving_g", baseline_g - after);
        cl_an_put_str(o, "method", "estimated");
        cl_an_put_str(o, "basis", e->basis);
        return o;
}

static cl_err
rightsizing_effect(const struct cl_analysis_env *env, json_object *args,
                   struct effect *e, int *added)
{
        double percent;

        if (!cl_an_num(args, "rightsizing_percent", &percent))
                return CL_OK;
        if (percent < 0.0 || percent > 100.0)
                return cl_fail(CL_EINVAL, "%s must be 0 to 100, got %g",
                               CL_AN_ARG(env, "rightsizing_percent"), percent);
        e->name = "rightsizing";
        snprintf(e->parameter, sizeof(e->parameter), "%g %% less energy",
                 percent);
        e->reduction = percent / 100.0;
        snprintf(e->basis, sizeof(e->basis),
                 "declared: the request states that rightsizing removes "
                 "%g %% of the energy",
                 percent);
        *added = 1;
        return CL_OK;
}

/*
 * The PUE effect compares an improved PUE with the period's, so a PUE
 * above the period's is rejected rather than shown as a negative saving.
 */
static cl_err
pue_effect(const struct cl_analysis_env *env, json_object *args,
           const struct cl_report_model *m, struct effect *e, int *added)
{
        const char *label = CL_AN_ARG(env, "pue");
        double pue;

        if (!cl_an_num(args, "pue", &pue))
                return CL_OK;
        if (pue < 1.0)
                return cl_fail(CL_EINVAL,
                               "%s must be at least 1.0 (facility energy "
                               "includes the IT energy), got %g",
                               label, pue);
        if (!(m->pue >= 1.0))
                return cl_fail(CL_EINVAL,
                               "the period's PUE %g is not usable for a "
                               "comparison",
                               m->pue);
        if (pue > m->pue)
                return cl_fail(CL_EINVAL,
                               "%s %g is above the period's PUE %.3f (%s), "
                               "so it is no improvement; give a value from "
                               "1.0 to %.3f",
                               label, pue, m->pue,
                               cl_method_name(m->pue_method), m->pue);
        e->name = "pue_improvement";
        snprintf(e->parameter, sizeof(e->parameter), "PUE %.3f to %.3f", m->pue,
                 pue);
        e->reduction = 1.0 - pue / m->pue;
        snprintf(e->basis, sizeof(e->basis),
                 "facility emissions scale with PUE: %.3f / %.3f (%s PUE of "
                 "the period)",
                 pue, m->pue, cl_method_name(m->pue_method));
        *added = 1;
        return CL_OK;
}

static cl_err
region_effect(const struct cl_analysis_env *env, json_object *args,
              const struct cl_regions *regions, struct effect *e, int *added)
{
        const char *to = cl_an_str(args, "region", NULL);
        const char *from = cl_an_str(args, "current_region", "KR");
        const struct cl_region *a, *b;
        char codes[512];

        if (to == NULL)
                return CL_OK;
        a = cl_region_find(regions, from);
        b = cl_region_find(regions, to);
        if (a == NULL || b == NULL)
                return cl_fail(
                    CL_EINVAL,
                    "%s: unknown region '%s'; regions of "
                    "%s: %s",
                    CL_AN_ARG(env, a == NULL ? "current_region" : "region"),
                    a == NULL ? from : to, regions->path,
                    cl_region_codes(regions, codes, sizeof(codes)));
        if (!(a->g_per_kwh > 0.0))
                return cl_fail(CL_EINVAL,
                               "region %s has an intensity of 0 in %s, so a "
                               "relative change is undefined",
                               a->code, regions->path);
        e->name = "move_region";
        snprintf(e->parameter, sizeof(e->parameter), "%s to %s", a->code,
                 b->code);
        e->reduction = 1.0 - b->g_per_kwh / a->g_per_kwh;
        snprintf(e->basis, sizeof(e->basis),
                 "annual intensity %.1f gCO2eq/kWh (%s) against %.1f (%s), "
                 "both from %s",
                 b->g_per_kwh, b->code, a->g_per_kwh, a->code,
                 a->intensity_source);
        *added = 1;
        return CL_OK;
}

/* Energy of hour i: the selected pods' when known, else the nodes'. */
static double
hour_energy(const struct cl_an_data *d, size_t i)
{
        const struct cl_report_model *m = &d->model;
        double uj = 0.0;

        if (strcmp(d->selection, "cluster") == 0)
                return (double)m->hours[i].energy_uj;
        for (size_t g = 0; g < d->selected.n_groups; g++) {
                const struct cl_workload_group *group = &d->selected.groups[g];

                for (size_t k = 0; k < group->n_members; k++) {
                        const int64_t *hours =
                            m->workloads[group->members[k]].hour_uj;

                        if (hours == NULL)
                                return (double)m->hours[i].energy_uj;
                        uj += (double)hours[i];
                }
        }
        return uj;
}

/*
 * The intensity the selection's energy met in the period, weighted by its
 * hourly energy, against the best window as long as the hours it used.
 */
static cl_err
shift_effect(const struct cl_analysis_env *env, json_object *args,
             const struct cl_an_data *d, struct effect *e, int *added)
{
        const char *zone =
            cl_an_str(args, "zone", cl_an_str(args, "current_region", "KR"));
        const struct cl_report_model *m = &d->model;
        struct cl_window best, now;
        struct cl_an_hourly h;
        double weighted = 0.0, energy = 0.0;
        size_t duration = 0;
        cl_err rc;

        if (!cl_an_bool(args, "shift_to_best_window"))
                return CL_OK;
        rc = cl_an_hourly_load(env, args, zone, m->period_start_ns,
                               m->period_end_ns, &h);
        if (rc != CL_OK)
                return rc;
        for (size_t i = 0; i < m->n_hours; i++) {
                size_t k =
                    h.cyclic ? (size_t)cl_an_kst_hour(m->hours[i].start_ns) : i;
                double uj = hour_energy(d, i);

                duration += uj > 0.0;
                if (k >= h.n || !h.has[k])
                        continue;
                weighted += h.values[k] * uj;
                energy += uj;
        }
        if (duration > h.n)
                duration = h.n;
        if (duration == 0)
                duration = 1;
        rc = cl_best_window(h.values, h.has, h.n, h.cyclic, 0, h.n, duration,
                            &best, &now);
        if (rc == CL_OK && !(energy > 0.0 && weighted > 0.0))
                rc = cl_fail(CL_ENOTFOUND,
                             "no hourly energy with intensity data in the "
                             "period, so a time shift cannot be compared");
        if (rc == CL_OK) {
                double current = weighted / energy;

                e->name = "shift_to_best_window";
                snprintf(e->parameter, sizeof(e->parameter),
                         "%zu-hour window, mean %.1f gCO2eq/kWh", duration,
                         best.mean);
                e->reduction = 1.0 - best.mean / current;
                if (e->reduction < 0.0)
                        e->reduction = 0.0;
                snprintf(e->basis, sizeof(e->basis),
                         "best %zu-hour window mean %.1f against %.1f "
                         "gCO2eq/kWh met in the period (weighted by the "
                         "hourly energy of %s); hourly data: %s. The "
                         "reports' annual factor does not change with the "
                         "hour.",
                         duration, best.mean, current,
                         strcmp(d->selection, "cluster") == 0
                             ? "the nodes"
                             : "the selected pods",
                         h.source);
                *added = 1;
        }
        cl_an_hourly_free(&h);
        return rc;
}

static json_object *
combined_json(const struct effect *effects, size_t n, double baseline_g)
{
        json_object *o = json_object_new_object();
        double fractions[MAX_EFFECTS], sum = 0.0, combined, after;

        for (size_t i = 0; i < n; i++) {
                fractions[i] = effects[i].reduction;
                sum += effects[i].reduction;
        }
        combined = cl_compose_reductions(fractions, n);
        after = baseline_g * (1.0 - combined);
        cl_an_put_num(o, "reduction_percent", 100.0 * combined);
        cl_an_put_num(o, "facility_emissions_after_g", after);
        cl_an_put_num(o, "saving_g", baseline_g - after);
        cl_an_put_str(o, "rule",
                      "multiplicative: after = before x product of (1 - "
                      "reduction); each later effect acts on what the "
                      "earlier ones left");
        cl_an_put_num(o, "sum_of_single_effects_percent", 100.0 * sum);
        cl_an_put_str(o, "sum_note",
                      "the plain sum counts overlapping savings twice and "
                      "is shown only for contrast");
        cl_an_put_str(o, "method", "estimated");
        return o;
}

cl_err
cl_an_compare_impact(const struct cl_analysis_env *env, json_object *args,
                     json_object **out)
{
        struct effect effects[MAX_EFFECTS];
        struct cl_regions regions = {0};
        size_t n = 0;
        struct cl_an_period p;
        struct cl_an_data d;
        struct base b;
        json_object *r, *list;
        int added;
        cl_err rc;

        memset(&d, 0, sizeof(d));
        memset(effects, 0, sizeof(effects));
        rc = cl_an_period_from_args(env, args, &p);
        if (rc == CL_OK)
                rc = cl_regions_load(env->template_dir, &regions);
        if (rc == CL_OK)
                rc = cl_an_load(env, args, &p, 1, &d);
        if (rc != CL_OK)
                goto out;
        base_of(&d, &b);
        added = 0;
        rc = rightsizing_effect(env, args, &effects[n], &added);
        n += (size_t)added;
        added = 0;
        if (rc == CL_OK)
                rc = shift_effect(env, args, &d, &effects[n], &added);
        n += (size_t)added;
        added = 0;
        if (rc == CL_OK)
                rc = region_effect(env, args, &regions, &effects[n], &added);
        n += (size_t)added;
        added = 0;
        if (rc == CL_OK)
                rc = pue_effect(env, args, &d.model, &effects[n], &added);
        n += (size_t)added;
        if (rc == CL_OK && n == 0)
                rc = cl_fail(CL_EINVAL,
                             "compare_optimization_impact needs at least one "
                             "of %s, %s, %s or %s",
                             CL_AN_ARG(env, "rightsizing_percent"),
                             CL_AN_ARG(env, "shift_to_best_window"),
                             CL_AN_ARG(env, "region"), CL_AN_ARG(env, "pue"));
        if (rc != CL_OK)
                goto out;
        r = cl_an_result_new("compare_optimization_impact", env, args, &p);
        cl_an_add_grouping(r, env, &d);
        json_object_object_add(r, "before", base_json(&d, &b));
        list = json_object_new_array();
        for (size_t i = 0; i < n; i++)
                json_object_array_add(list,
                                      effect_json(&effects[i], b.facility_g));
        json_object_object_add(r, "effects", list);
        json_object_object_add(r, "combined",
                               combined_json(effects, n, b.facility_g));
        *out = r;
out:
        cl_regions_free(&regions);
        cl_an_data_free(&d);
        return rc;
}

struct region_row {
        const struct cl_region *region;
        double it_g, facility_g;
};

static int
compare_region_rows(const void *a, const void *b)
{
        const struct region_row *x = a, *y = b;

        if (x->facility_g != y->facility_g)
                return x->facility_g < y->facility_g ? -1 : 1;
        return strcmp(x->region->code, y->region->code);
}

static json_object *
region_json(const struct region_row *row, const struct region_row *current)
{
        json_object *o = json_object_new_object();
        const struct cl_region *g = row->region;

        cl_an_put_str(o, "region", g->code);
        cl_an_put_str(o, "name", g->name);
        cl_an_put_num(o, "intensity_g_per_kwh", g->g_per_kwh);
        cl_an_put_str(o, "intensity_source", g->intensity_source);
        if (g->has_ember) {
                cl_an_put_num(o, "ember_intensity_g_per_kwh",
                              g->ember_g_per_kwh);
                cl_an_put_str(o, "ember_source", g->ember_source);
        }
        cl_an_put_num(o, "pue", g->pue);
        cl_an_put_str(o, "pue_source", g->pue_source);
        cl_an_put_num(o, "emissions_g", row->it_g);
        cl_an_put_num(o, "facility_emissions_g", row->facility_g);
        if (current->facility_g > 0)
                cl_an_put_num(
                    o, "change_percent",
                    100.0 * (row->facility_g / current->facility_g - 1.0));
        else
                cl_an_put_null(o, "change_percent");
        cl_an_put_str(o, "method",
                      "estimated: energy x declared annual intensity x "
                      "declared typical PUE");
        return o;
}

cl_err
cl_an_regional(const struct cl_analysis_env *env, json_object *args,
               json_object **out)
{
        const char *from = cl_an_str(args, "current_region", "KR");
        struct cl_regions regions = {0};
        struct region_row *rows = NULL, current;
        struct cl_an_period p;
        struct cl_an_data d;
        struct base b;
        json_object *r, *list;
        char codes[512];
        double kwh;
        cl_err rc;

        memset(&d, 0, sizeof(d));
        rc = cl_an_period_from_args(env, args, &p);
        if (rc == CL_OK)
                rc = cl_regions_load(env->template_dir, &regions);
        if (rc == CL_OK && cl_region_find(&regions, from) == NULL)
                rc = cl_fail(
                    CL_EINVAL, "%s: unknown region '%s'; regions of %s: %s",
                    CL_AN_ARG(env, "current_region"), from, regions.path,
                    cl_region_codes(&regions, codes, sizeof(codes)));
        if (rc == CL_OK)
                rc = cl_an_load(env, args, &p, 1, &d);
        if (rc != CL_OK)
                goto out;
        rows = calloc(regions.n_regions + 1, sizeof(*rows));
        if (rows == NULL) {
                rc = cl_fail(CL_ENOMEM, "region rows");
                goto out;
        }
        base_of(&d, &b);
        kwh = (double)b.energy_uj / UJ_PER_KWH;
        current.region = cl_region_find(&regions, from);
        current.it_g = kwh * current.region->g_per_kwh;
        current.facility_g = current.it_g * current.region->pue;
        for (size_t i = 0; i < regions.n_regions; i++) {
                rows[i].region = &regions.regions[i];
                rows[i].it_g = kwh * regions.regions[i].g_per_kwh;
                rows[i].facility_g = rows[i].it_g * regions.regions[i].pue;
        }
        qsort(rows, regions.n_regions, sizeof(*rows), compare_region_rows);
        r = cl_an_result_new("get_regional_comparison", env, args, &p);
        cl_an_add_grouping(r, env, &d);
        cl_an_put_str(json_object_object_get(r, "inputs"), "regions_file",
                      regions.path);
        json_object_object_add(r, "energy", base_json(&d, &b));
        json_object_object_add(r, "current_region",
                               region_json(&current, &current));
        list = json_object_new_array();
        for (size_t i = 0; i < regions.n_regions; i++)
                json_object_array_add(list, region_json(&rows[i], &current));
        json_object_object_add(r, "regions", list);
        cl_an_put_str(r, "sorted_by", "facility_emissions_g, lowest first");
        cl_an_put_str(r, "note",
                      "regional values are generation-side annual averages; "
                      "the report's emissions use the official "
                      "consumption-side factor, so compare regions with one "
                      "another, not with the report's total");
        *out = r;
out:
        free(rows);
        cl_regions_free(&regions);
        cl_an_data_free(&d);
        return rc;
}
