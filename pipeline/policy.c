/*
 * Policy and emission-factor tables. Both are JSON read with json-c; every
 * error names the file and the key.
 */
#include "policy.h"

#include "fsutil.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static cl_err
parse_json_file(const char *path, json_object **out)
{
        enum json_tokener_error jerr;
        json_tokener *tok;
        char *text = NULL;
        size_t len;
        cl_err rc;

        *out = NULL;
        rc = cl_read_file(path, 1 << 20, &text, &len);
        if (rc != CL_OK)
                return rc;
        if (len == 0) {
                free(text);
                return cl_fail(CL_EFORMAT,
                               "%s: empty file, expected a JSON "
                               "object",
                               path);
        }
        tok = json_tokener_new();
        if (tok == NULL) {
                free(text);
                return cl_fail(CL_ENOMEM, "parse %s", path);
        }
        /* Standard JSON only: json-c otherwise accepts trailing commas. */
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        *out = json_tokener_parse_ex(tok, text, (int)len);
        jerr = json_tokener_get_error(tok);
        if (*out == NULL || jerr != json_tokener_success ||
            json_tokener_get_parse_end(tok) < len) {
                size_t end = json_tokener_get_parse_end(tok);

                json_object_put(*out);
                *out = NULL;
                rc = cl_fail(CL_EFORMAT, "%s: invalid JSON at byte %zu: %s",
                             path, end,
                             jerr != json_tokener_success
                                 ? json_tokener_error_desc(jerr)
                                 : "unexpected content after the document");
        } else if (!json_object_is_type(*out, json_type_object)) {
                json_object_put(*out);
                *out = NULL;
                rc = cl_fail(CL_EFORMAT, "%s: expected a JSON object", path);
        }
        json_tokener_free(tok);
        free(text);
        return rc;
}

/* Returns 1 when the len bytes at s are well-formed UTF-8 without NUL. */
static int
valid_utf8(const unsigned char *s, size_t len)
{
        size_t i = 0;

        while (i < len) {
                unsigned c = s[i];
                size_t extra;
                unsigned cp;

                if (c == 0)
                        return 0;
                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf)
                        extra = 1, cp = c & 0x1f;
                else if (c >= 0xe0 && c <= 0xef)
                        extra = 2, cp = c & 0x0f;
                else if (c >= 0xf0 && c <= 0xf4)
                        extra = 3, cp = c & 0x07;
                else
                        return 0;
                if (i + extra >= len)
                        return 0;
                for (size_t k = 1; k <= extra; k++) {
                        if ((s[i + k] & 0xc0) != 0x80)
                                return 0;
                        cp = (cp << 6) | (s[i + k] & 0x3f);
                }
                if ((extra == 2 && cp < 0x800) ||
                    (extra == 3 && cp < 0x10000) || cp > 0x10ffff ||
                    (cp >= 0xd800 && cp <= 0xdfff))
                        return 0;
                i += extra + 1;
        }
        return 1;
}

static cl_err
get_string(json_object *obj, const char *section, const char *key,
           const char *path, char *buf, size_t size)
{
        const char *dot = section[0] != '\0' ? "." : "";
        json_object *v;
        size_t len;

        if (!json_object_object_get_ex(obj, key, &v))
                return CL_OK;
        if (v == NULL) {
                buf[0] = '\0';
                return CL_OK;
        }
        if (!json_object_is_type(v, json_type_string))
                return cl_fail(CL_EFORMAT, "%s: '%s%s%s' must be a string",
                               path, section, dot, key);
        len = (size_t)json_object_get_string_len(v);
        if (len >= size)
                return cl_fail(CL_EFORMAT,
                               "%s: '%s%s%s' is longer than %zu bytes", path,
                               section, dot, key, size - 1);
        if (!valid_utf8((const unsigned char *)json_object_get_string(v), len))
                return cl_fail(CL_EFORMAT,
                               "%s: '%s%s%s' is not valid UTF-8 or holds a "
                               "NUL character",
                               path, section, dot, key);
        snprintf(buf, size, "%s", json_object_get_string(v));
        return CL_OK;
}

static int
is_number(json_object *v)
{
        return v != NULL && (json_object_is_type(v, json_type_int) ||
                             json_object_is_type(v, json_type_double));
}

static cl_err
get_number(json_object *obj, const char *section, const char *key,
           const char *path, double min, double max, double *out)
{
        const char *dot = section[0] != '\0' ? "." : "";
        json_object *v;
        double d;

        if (!json_object_object_get_ex(obj, key, &v))
                return CL_OK;
        if (!is_number(v))
                return cl_fail(CL_EFORMAT, "%s: '%s%s%s' must be a number",
                               path, section, dot, key);
        d = json_object_get_double(v);
        if (!isfinite(d) || d < min || d > max)
                return cl_fail(CL_EFORMAT,
                               "%s: '%s%s%s' is %g, expected %g to %g", path,
                               section, dot, key, d, min, max);
        *out = d;
        return CL_OK;
}

static cl_err
check_keys(json_object *obj, const char *path, const char *where,
           const char *const *allowed)
{
        json_object_object_foreach(obj, key, value)
        {
                int known = 0;

                (void)value;
                for (const char *const *a = allowed; *a != NULL; a++)
                        if (strcmp(key, *a) == 0)
                                known = 1;
                if (!known)
                        return cl_fail(CL_EFORMAT, "%s: unknown key '%s%s%s'",
                                       path, where, where[0] ? "." : "", key);
        }
        return CL_OK;
}

static cl_err
get_section(json_object *root, const char *key, const char *path,
            json_object **out)
{
        *out = NULL;
        if (!json_object_object_get_ex(root, key, out))
                return CL_OK;
        if (!json_object_is_type(*out, json_type_object))
                return cl_fail(CL_EFORMAT, "%s: '%s' must be an object", path,
                               key);
        return CL_OK;
}

static cl_err
check_budget_map(json_object *map, const char *path, const char *key)
{
        int pods = strcmp(key, "pods") == 0;

        if (map == NULL)
                return CL_OK;
        if (!json_object_is_type(map, json_type_object))
                return cl_fail(CL_EFORMAT,
                               "%s: 'budgets_g_per_hour.%s' must be an object",
                               path, key);
        json_object_object_foreach(map, name, value)
        {
                if (pods && (strchr(name, '/') == NULL || name[0] == '/'))
                        return cl_fail(CL_EFORMAT,
                                       "%s: pod budget key "
                                       "'budgets_g_per_hour.pods.%s' must be "
                                       "'namespace/pod'",
                                       path, name);
                if (!is_number(value) || json_object_get_double(value) < 0)
                        return cl_fail(CL_EFORMAT,
                                       "%s: budget 'budgets_g_per_hour.%s.%s' "
                                       "must be a number of at least 0",
                                       path, key, name);
        }
        return CL_OK;
}

static cl_err
apply_budgets(struct cl_policy *p, json_object *b, const char *path)
{
        static const char *const keys[] = {"default", "namespaces", "pods",
                                           NULL};
        json_object *v;
        cl_err rc;

        rc = check_keys(b, path, "budgets_g_per_hour", keys);
        if (rc != CL_OK)
                return rc;
        if (json_object_object_get_ex(b, "default", &v)) {
                if (v == NULL) {
                        p->has_default_budget = 0;
                } else if (is_number(v) && json_object_get_double(v) >= 0) {
                        p->has_default_budget = 1;
                        p->default_budget_g_per_h = json_object_get_double(v);
                } else {
                        return cl_fail(CL_EFORMAT,
                                       "%s: 'budgets_g_per_hour.default' "
                                       "must be null or a number of at least "
                                       "0",
                                       path);
                }
        }
        if (json_object_object_get_ex(b, "namespaces", &v)) {
                rc = check_budget_map(v, path, "namespaces");
                if (rc != CL_OK)
                        return rc;
                p->namespace_budgets = v;
        }
        if (json_object_object_get_ex(b, "pods", &v)) {
                rc = check_budget_map(v, path, "pods");
                if (rc != CL_OK)
                        return rc;
                p->pod_budgets = v;
        }
        return CL_OK;
}

static cl_err
apply_accounting(struct cl_policy *p, json_object *s, const char *path)
{
        static const char *const keys[] = {
            "basis",     "hourly_source",    "zone",
            "grid_loss", "grid_loss_origin", "comment",
            NULL};
        char basis[16] = "";
        cl_err rc;

        rc = check_keys(s, path, "accounting", keys);
        if (rc == CL_OK)
                rc = get_string(s, "accounting", "basis", path, basis,
                                sizeof(basis));
        if (rc == CL_OK && basis[0] != '\0') {
                if (strcmp(basis, "official") == 0)
                        p->hourly_basis = 0;
                else if (strcmp(basis, "hourly") == 0)
                        p->hourly_basis = 1;
                else
                        rc = cl_fail(CL_EFORMAT,
                                     "%s: 'accounting.basis' is '%s', "
                                     "expected 'official' or 'hourly'",
                                     path, basis);
        }
        if (rc == CL_OK)
                rc = get_string(s, "accounting", "hourly_source", path,
                                p->hourly_source, sizeof(p->hourly_source));
        /* A marginal rate is no average intensity of the energy used. */
        if (rc == CL_OK && strcmp(p->hourly_source, "watttime") == 0)
                rc = cl_fail(CL_EFORMAT,
                             "%s: 'accounting.hourly_source' cannot be "
                             "'watttime': its marginal rates are never "
                             "mixed into average-based totals",
                             path);
        if (rc == CL_OK && strcmp(p->hourly_source, "kpx") != 0 &&
            strcmp(p->hourly_source, "electricitymaps") != 0 &&
            strcmp(p->hourly_source, "static") != 0 &&
            strcmp(p->hourly_source, "gir") != 0)
                rc = cl_fail(CL_EFORMAT,
                             "%s: 'accounting.hourly_source' is '%s', "
                             "expected kpx, electricitymaps, static or gir",
                             path, p->hourly_source);
        if (rc == CL_OK)
                rc = get_string(s, "accounting", "zone", path, p->zone,
                                sizeof(p->zone));
        if (rc == CL_OK)
                rc = get_number(s, "accounting", "grid_loss", path, 0.0, 0.5,
                                &p->grid_loss);
        if (rc == CL_OK)
                rc = get_string(s, "accounting", "grid_loss_origin", path,
                                p->grid_loss_origin,
                                sizeof(p->grid_loss_origin));
        return rc;
}

/* Applies the keys present in doc (parsed from path) over p. */
static cl_err
apply_policy(struct cl_policy *p, json_object *doc, const char *path)
{
        static const char *const top[] = {"name",
                                          "organisation",
                                          "emission_factor",
                                          "grid_reference",
                                          "pue",
                                          "coverage_threshold",
                                          "budgets_g_per_hour",
                                          "comment",
                                          "accounting",
                                          NULL};
        static const char *const factor_keys[] = {"source", "notice", "comment",
                                                  NULL};
        static const char *const grid_keys[] = {"g_per_kwh", "origin", NULL};
        static const char *const pue_keys[] = {
            "target", "target_origin", "declared", "declared_origin", NULL};
        json_object *s;
        cl_err rc;

        rc = check_keys(doc, path, "", top);
        if (rc == CL_OK)
                rc =
                    get_string(doc, "", "name", path, p->name, sizeof(p->name));
        if (rc == CL_OK)
                rc = get_string(doc, "", "organisation", path, p->organisation,
                                sizeof(p->organisation));
        if (rc == CL_OK)
                rc = get_number(doc, "", "coverage_threshold", path, 0.0, 1.0,
                                &p->coverage_threshold);
        if (rc == CL_OK)
                rc = get_section(doc, "emission_factor", path, &s);
        if (rc == CL_OK && s != NULL) {
                char source[16] = "gir";

                rc = check_keys(s, path, "emission_factor", factor_keys);
                if (rc == CL_OK)
                        rc = get_string(s, "emission_factor", "source", path,
                                        source, sizeof(source));
                if (rc == CL_OK && strcmp(source, "gir") != 0)
                        rc = cl_fail(CL_EFORMAT,
                                     "%s: 'emission_factor.source' is '%s'; "
                                     "the supported source is 'gir'",
                                     path, source);
                if (rc == CL_OK)
                        rc = get_string(s, "emission_factor", "notice", path,
                                        p->factor_notice,
                                        sizeof(p->factor_notice));
        }
        if (rc == CL_OK)
                rc = get_section(doc, "accounting", path, &s);
        if (rc == CL_OK && s != NULL)
                rc = apply_accounting(p, s, path);
        if (rc == CL_OK)
                rc = get_section(doc, "grid_reference", path, &s);
        if (rc == CL_OK && s != NULL) {
                rc = check_keys(s, path, "grid_reference", grid_keys);
                if (rc == CL_OK)
                        rc = get_number(s, "grid_reference", "g_per_kwh", path,
                                        0.0, 5000.0,
                                        &p->grid_reference_g_per_kwh);
                if (rc == CL_OK)
                        rc = get_string(s, "grid_reference", "origin", path,
                                        p->grid_reference_origin,
                                        sizeof(p->grid_reference_origin));
        }
        if (rc == CL_OK)
                rc = get_section(doc, "pue", path, &s);
        if (rc == CL_OK && s != NULL) {
                rc = check_keys(s, path, "pue", pue_keys);
                if (rc == CL_OK)
                        rc = get_number(s, "pue", "target", path, 1.0, 10.0,
                                        &p->pue_target);
                if (rc == CL_OK)
                        rc = get_number(s, "pue", "declared", path, 1.0, 10.0,
                                        &p->pue_declared);
                if (rc == CL_OK)
                        rc = get_string(s, "pue", "target_origin", path,
                                        p->pue_target_origin,
                                        sizeof(p->pue_target_origin));
                if (rc == CL_OK)
                        rc = get_string(s, "pue", "declared_origin", path,
                                        p->pue_declared_origin,
                                        sizeof(p->pue_declared_origin));
        }
        if (rc == CL_OK)
                rc = get_section(doc, "budgets_g_per_hour", path, &s);
        if (rc == CL_OK && s != NULL)
                rc = apply_budgets(p, s, path);
        return rc;
}

cl_err
cl_policy_load(const char *template_dir, const char *user_path,
               struct cl_policy *out)
{
        json_object *defaults = NULL, *user = NULL, *root;
        char path[PATH_MAX];
        cl_err rc;

        memset(out, 0, sizeof(*out));
        rc = cl_path_join(path, sizeof(path), template_dir, "policy.json");
        if (rc != CL_OK)
                return rc;
        rc = parse_json_file(path, &defaults);
        if (rc != CL_OK)
                return rc;
        rc = apply_policy(out, defaults, path);
        snprintf(out->path, sizeof(out->path), "%s", path);
        if (rc == CL_OK && user_path != NULL) {
                rc = parse_json_file(user_path, &user);
                if (rc == CL_OK)
                        rc = apply_policy(out, user, user_path);
                snprintf(out->path, sizeof(out->path), "%s", user_path);
        }
        /* Both documents stay alive: budget maps may point into either. */
        root = json_object_new_array();
        if (root == NULL) {
                json_object_put(defaults);
                json_object_put(user);
                return cl_fail(CL_ENOMEM, "policy");
        }
        json_object_array_add(root, defaults);
        if (user != NULL)
                json_object_array_add(root, user);
        out->root = root;
        if (rc != CL_OK)
                cl_policy_free(out);
        return rc;
}

void
cl_policy_free(struct cl_policy *policy)
{
        json_object_put(policy->root);
        memset(policy, 0, sizeof(*policy));
}

static int
budget_from(json_object *map, const char *key, double *g_per_h)
{
        json_object *v;

        if (map == NULL || !json_object_object_get_ex(map, key, &v) ||
            !is_number(v))
                return 0;
        *g_per_h = json_object_get_double(v);
        return 1;
}

int
cl_policy_budget(const struct cl_policy *policy, const char *namespace_,
                 const char *pod, double *g_per_h)
{
        char key[512];

        snprintf(key, sizeof(key), "%s/%s", namespace_, pod);
        if (budget_from(policy->pod_budgets, key, g_per_h))
                return 1;
        if (namespace_[0] != '\0' &&
            budget_from(policy->namespace_budgets, namespace_, g_per_h))
                return 1;
        if (policy->has_default_budget) {
                *g_per_h = policy->default_budget_g_per_h;
                return 1;
        }
        return 0;
}

static int
year_of(json_object *entry, const char *key, int fallback)
{
        json_object *v;

        if (!json_object_object_get_ex(entry, key, &v) || v == NULL)
                return fallback;
        return json_object_get_int(v);
}

cl_err
cl_factor_select(const char *template_dir, int year, const char *notice,
                 struct cl_emission_factor *out)
{
        json_object *doc = NULL, *factors;
        char path[PATH_MAX];
        cl_err rc;

        memset(out, 0, sizeof(*out));
        rc = cl_path_join(path, sizeof(path), template_dir,
                          "emission-factors.json");
        if (rc != CL_OK)
                return rc;
        rc = parse_json_file(path, &doc);
        if (rc != CL_OK)
                return rc;
        if (!json_object_object_get_ex(doc, "factors", &factors) ||
            !json_object_is_type(factors, json_type_array)) {
                rc =
                    cl_fail(CL_EFORMAT, "%s: 'factors' must be an array", path);
                goto out;
        }
        rc = CL_ENOTFOUND;
        for (size_t i = 0; i < json_object_array_length(factors); i++) {
                json_object *e = json_object_array_get_idx(factors, i), *v;
                char name[128] = "";
                int from, to, match;

                if (!json_object_is_type(e, json_type_object) ||
                    get_string(e, "factors", "notice", path, name,
                               sizeof(name)) != CL_OK ||
                    !json_object_object_get_ex(e, "t_per_mwh", &v) ||
                    !is_number(v) || json_object_get_double(v) <= 0) {
                        rc = cl_fail(CL_EFORMAT,
                                     "%s: factor %zu needs a 'notice' string "
                                     "and a positive 't_per_mwh'",
                                     path, i + 1);
                        goto out;
                }
                from = year_of(e, "applies_from", 0);
                to = year_of(e, "applies_to", 9999);
                match = notice[0] != '\0' ? strcmp(name, notice) == 0
                                          : year >= from && year <= to;
                if (!match)
                        continue;
                snprintf(out->notice, sizeof(out->notice), "%s", name);
                out->t_per_mwh = json_object_get_double(v);
                get_string(e, "factors", "statistics", path, out->statistics,
                           sizeof(out->statistics));
                out->confirmed =
                    !json_object_object_get_ex(e, "confirmed", &v) ||
                    json_object_get_boolean(v);
                rc = CL_OK;
        }
        if (rc == CL_ENOTFOUND) {
                if (notice[0] != '\0')
                        cl_fail(CL_ENOTFOUND, "%s: no factor of notice '%s'",
                                path, notice);
                else
                        cl_fail(CL_ENOTFOUND,
                                "%s: no factor applies to the year %d; add "
                                "the notice in force",
                                path, year);
        }
out:
        json_object_put(doc);
        return rc;
}
