/*
 * The organisation's compliance policy: a JSON file whose defaults live in
 * templates/policy.json. A user's file overrides the keys it names; an
 * unknown key is an error, so a typo cannot silently fall back to a
 * default.
 */
#ifndef CL_POLICY_H
#define CL_POLICY_H

#include "err.h"

#include <json-c/json.h>

struct cl_policy {
        char path[512]; /* user file, or the template */
        char name[200];
        char organisation[200];
        char factor_notice[128]; /* "" for the factor in force */
        int hourly_basis;        /* 0: official factor, 1: hourly */
        char hourly_source[24];  /* "kpx", "electricitymaps", ... */
        char zone[16];           /* "KR" */
        double grid_loss;        /* share lost in the grid, 0..0.5 */
        char grid_loss_origin[256];
        double grid_reference_g_per_kwh;
        char grid_reference_origin[256];
        double pue_target;
        char pue_target_origin[256];
        double pue_declared;
        char pue_declared_origin[256];
        double coverage_threshold; /* 0..1 */
        /* Budgets in gCO2eq per hour of run time; owned JSON objects. */
        int has_default_budget;
        double default_budget_g_per_h;
        json_object *namespace_budgets; /* name -> number */
        json_object *pod_budgets;       /* "namespace/pod" -> number */
        json_object *root;              /* keeps the parsed document */
};

/*
 * Loads template_dir/policy.json, then overlays user_path when not NULL.
 * Fails with CL_EIO (unreadable file) or CL_EFORMAT (invalid JSON, a wrong
 * type, a value out of range or an unknown key), naming the file and the
 * key. Release with cl_policy_free().
 */
cl_err cl_policy_load(const char *template_dir, const char *user_path,
                      struct cl_policy *out) CL_MUST_CHECK;

void cl_policy_free(struct cl_policy *policy);

/*
 * Looks up the budget of a pod: "namespace/pod" first, then the namespace,
 * then the default. Returns 1 and sets *g_per_h when one applies, else 0.
 */
int cl_policy_budget(const struct cl_policy *policy, const char *namespace_,
                     const char *pod, double *g_per_h);

/* An official emission factor from templates/emission-factors.json. */
struct cl_emission_factor {
        char notice[128];
        char statistics[64];
        double t_per_mwh; /* tCO2eq/MWh, equal to kgCO2eq/kWh */
        int confirmed;    /* 0 when the value could not be checked */
};

/*
 * Selects the factor of notice (when not "") or the factor whose years
 * include year. Fails with CL_ENOTFOUND naming the year or notice, or
 * CL_EFORMAT for a malformed table.
 */
cl_err cl_factor_select(const char *template_dir, int year, const char *notice,
                        struct cl_emission_factor *out) CL_MUST_CHECK;

#endif
