/*
 * The regions table (templates/regions.json: annual intensity, typical
 * PUE, optional typical day, each value with its named source) and the
 * hourly intensity the schedule reads: a declared profile argument,
 * stored hours of the zone, or the zone's typical day.
 */
#include "analyses_internal.h"

#include "fsutil.h"
#include "timeutil.h"

#ifdef CL_HAVE_INTENSITY_STORE
#include "intensity.h"
#endif

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_REGIONS_BYTES (1024u * 1024u)
/* Stored hours read for one schedule: 31 days. */
#define MAX_STORED_HOURS (31u * 24u)
/* Above any grid's hourly intensity, even one of coal plants alone, so
   the bound rejects typing errors (1e308) but no real profile. */
#define MAX_PROFILE_G_PER_KWH 2000.0

static const char *
string_of(json_object *o, const char *key)
{
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) ||
            !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static int
number_of(json_object *o, const char *key, double *out)
{
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) ||
            !(json_object_is_type(v, json_type_double) ||
              json_object_is_type(v, json_type_int)))
                return 0;
        *out = json_object_get_double(v);
        return isfinite(*out);
}

/* Resolves a key of "sources" to its text; NULL when it is missing. */
static const char *
source_text(json_object *sources, json_object *region, const char *key)
{
        const char *name = string_of(region, key);

        if (name == NULL)
                return NULL;
        return string_of(sources, name);
}

static cl_err
read_profile(const char *path, json_object *sources, json_object *item,
             struct cl_region *r)
{
        json_object *day, *values;
        const char *src;

        if (!json_object_object_get_ex(item, "typical_day", &day))
                return CL_OK;
        if (!json_object_object_get_ex(day, "g_per_kwh", &values) ||
            !json_object_is_type(values, json_type_array) ||
            json_object_array_length(values) != 24)
                return cl_fail(CL_EFORMAT,
                               "%s: region %s: typical_day.g_per_kwh must "
                               "be 24 numbers",
                               path, r->code);
        src = source_text(sources, day, "source");
        if (src == NULL)
                return cl_fail(CL_EFORMAT,
                               "%s: region %s: typical_day needs a source "
                               "named in \"sources\"",
                               path, r->code);
        for (size_t h = 0; h < 24; h++) {
                json_object *v = json_object_array_get_idx(values, h);

                r->profile[h] = json_object_get_double(v);
                if (!(r->profile[h] >= 0.0))
                        return cl_fail(CL_EFORMAT,
                                       "%s: region %s: typical_day hour %zu "
                                       "is not a non-negative number",
                                       path, r->code, h);
        }
        snprintf(r->profile_source, sizeof(r->profile_source), "%s", src);
        r->has_profile = 1;
        return CL_OK;
}

static cl_err
read_region(const char *path, json_object *sources, json_object *item,
            struct cl_region *r)
{
        const char *code = string_of(item, "code");
        const char *name = string_of(item, "name");
        const char *isrc = source_text(sources, item, "intensity_source");
        const char *psrc = source_text(sources, item, "pue_source");
        const char *esrc = source_text(sources, item, "ember_source");

        memset(r, 0, sizeof(*r));
        if (code == NULL || name == NULL)
                return cl_fail(CL_EFORMAT, "%s: a region lacks code or name",
                               path);
        snprintf(r->code, sizeof(r->code), "%s", code);
        snprintf(r->name, sizeof(r->name), "%s", name);
        if (!number_of(item, "g_per_kwh", &r->g_per_kwh) || r->g_per_kwh < 0 ||
            isrc == NULL)
                return cl_fail(CL_EFORMAT,
                               "%s: region %s needs g_per_kwh >= 0 and an "
                               "intensity_source named in \"sources\"",
                               path, code);
        if (!number_of(item, "pue", &r->pue) || r->pue < 1.0 || psrc == NULL)
                return cl_fail(CL_EFORMAT,
                               "%s: region %s needs pue >= 1.0 and a "
                               "pue_source named in \"sources\"",
                               path, code);
        snprintf(r->intensity_source, sizeof(r->intensity_source), "%s", isrc);
        snprintf(r->pue_source, sizeof(r->pue_source), "%s", psrc);
        if (number_of(item, "ember_g_per_kwh", &r->ember_g_per_kwh) &&
            esrc != NULL) {
                r->has_ember = 1;
                snprintf(r->ember_source, sizeof(r->ember_source), "%s", esrc);
        }
        return read_profile(path, sources, item, r);
}

cl_err
cl_regions_load(const char *template_dir, struct cl_regions *out)
{
        json_object *doc = NULL, *list, *sources;
        char *text = NULL;
        size_t len, n;
        cl_err rc;

        memset(out, 0, sizeof(*out));
        rc = cl_path_join(out->path, sizeof(out->path), template_dir,
                          "regions.json");
        if (rc == CL_OK)
                rc = cl_read_file(out->path, MAX_REGIONS_BYTES, &text, &len);
        if (rc != CL_OK)
                return rc;
        doc = json_tokener_parse(text);
        if (doc == NULL || !json_object_object_get_ex(doc, "regions", &list) ||
            !json_object_is_type(list, json_type_array) ||
            !json_object_object_get_ex(doc, "sources", &sources)) {
                rc = cl_fail(CL_EFORMAT,
                             "%s is not a regions table (needs \"sources\" "
                             "and a \"regions\" array)",
                             out->path);
                goto out;
        }
        n = json_object_array_length(list);
        out->regions = calloc(n + 1, sizeof(*out->regions));
        if (out->regions == NULL) {
                rc = cl_fail(CL_ENOMEM, "%s", out->path);
                goto out;
        }
        for (size_t i = 0; rc == CL_OK && i < n; i++) {
                rc = read_region(out->path, sources,
                                 json_object_array_get_idx(list, i),
                                 &out->regions[i]);
                out->n_regions += rc == CL_OK;
        }
out:
        if (rc != CL_OK)
                cl_regions_free(out);
        json_object_put(doc);
        free(text);
        return rc;
}

void
cl_regions_free(struct cl_regions *r)
{
        free(r->regions);
        r->regions = NULL;
        r->n_regions = 0;
}

const struct cl_region *
cl_region_find(const struct cl_regions *r, const char *code)
{
        for (size_t i = 0; i < r->n_regions; i++)
                if (strcasecmp(r->regions[i].code, code) == 0)
                        return &r->regions[i];
        return NULL;
}

const char *
cl_region_codes(const struct cl_regions *r, char *buf, size_t size)
{
        size_t used = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < r->n_regions && used < size; i++) {
                int n = snprintf(buf + used, size - used, "%s%s",
                                 i > 0 ? ", " : "", r->regions[i].code);

                used += n > 0 ? (size_t)n : 0;
        }
        return buf;
}

static cl_err
alloc_hours(struct cl_an_hourly *h, size_t n)
{
        h->values = calloc(n, sizeof(*h->values));
        h->has = calloc(n, sizeof(*h->has));
        if (h->values == NULL || h->has == NULL)
                return cl_fail(CL_ENOMEM, "%zu hours of intensity", n);
        h->n = n;
        return CL_OK;
}

static cl_err
declared_profile(const struct cl_analysis_env *env, json_object *profile,
                 const char *zone, struct cl_an_hourly *h)
{
        const char *label = CL_AN_ARG(env, "profile");
        cl_err rc;

        if (json_object_array_length(profile) != 24)
                return cl_fail(CL_EINVAL,
                               "%s must have 24 values (KST hours 0 to "
                               "23), got %zu",
                               label, json_object_array_length(profile));
        rc = alloc_hours(h, 24);
        if (rc != CL_OK)
                return rc;
        for (size_t i = 0; i < 24; i++) {
                h->values[i] = json_object_get_double(
                    json_object_array_get_idx(profile, i));
                if (!(h->values[i] > 0.0 &&
                      h->values[i] <= MAX_PROFILE_G_PER_KWH))
                        return cl_fail(CL_EINVAL,
                                       "%s value %zu (KST hour %zu) is %g; "
                                       "an intensity must be above 0 and "
                                       "at most %g gCO2eq/kWh",
                                       label, i + 1, i, h->values[i],
                                       MAX_PROFILE_G_PER_KWH);
                h->has[i] = 1;
        }
        h->cyclic = 1;
        h->method = "declared";
        snprintf(h->source, sizeof(h->source),
                 "typical-day profile for zone %s given in the request "
                 "(24 KST hours, repeating across midnight)",
                 zone);
        return CL_OK;
}

#ifdef CL_HAVE_INTENSITY_STORE
/*
 * Reads stored hours of zone from source into h. Returns CL_ENOTFOUND
 * when the source has no hour with a value in the range.
 */
static cl_err
stored_hours(const struct cl_analysis_env *env, const char *source,
             const char *zone, int64_t from_ns, size_t n,
             struct cl_an_hourly *h)
{
        struct cl_intensity_hour *hours = calloc(n, sizeof(*hours));
        size_t with_value = 0;
        cl_err rc;

        if (hours == NULL)
                return cl_fail(CL_ENOMEM, "%zu hours of intensity", n);
        rc = cl_intensity_load(env->db, source, zone, from_ns, n, hours);
        for (size_t i = 0; rc == CL_OK && i < n; i++)
                with_value += hours[i].has_value != 0;
        if (rc == CL_OK && with_value == 0)
                rc = cl_fail(CL_ENOTFOUND, "no stored hours of %s for %s",
                             source, zone);
        if (rc == CL_OK)
                rc = alloc_hours(h, n);
        for (size_t i = 0; rc == CL_OK && i < n; i++) {
                h->values[i] = hours[i].g_per_kwh;
                h->has[i] = hours[i].has_value;
        }
        if (rc == CL_OK) {
                h->start_ns = from_ns;
                h->cyclic = 0;
                h->method = cl_intensity_quality_name(hours[0].quality);
                snprintf(h->source, sizeof(h->source),
                         "stored hourly intensity of zone %s from source %s "
                         "(%s basis), %zu of %zu hours with a value",
                         zone, source, cl_intensity_basis_name(hours[0].basis),
                         with_value, n);
        }
        free(hours);
        return rc;
}
#endif

/* Tries the stored hours; CL_ENOTFOUND when none are stored. */
static cl_err
try_stored(const struct cl_analysis_env *env, json_object *args,
           const char *zone, int64_t from_ns, int64_t to_ns,
           struct cl_an_hourly *h)
{
#ifdef CL_HAVE_INTENSITY_STORE
        static const char *const sources[] = {"kpx", "electricitymaps",
                                              "watttime", "static", NULL};
        const char *wanted = cl_an_str(args, "intensity_source", NULL);
        int64_t hours = (to_ns - from_ns + CL_NS_PER_HOUR - 1) / CL_NS_PER_HOUR;
        size_t n = hours > 0 ? (size_t)hours : 0;
        cl_err rc = CL_ENOTFOUND;

        if (n == 0)
                return cl_fail(CL_ENOTFOUND, "empty range of hours");
        if (n > MAX_STORED_HOURS)
                return cl_fail(CL_EINVAL,
                               "the range from %s to %s spans %zu hours; at "
                               "most %u are read",
                               CL_AN_ARG(env, "earliest_start"),
                               CL_AN_ARG(env, "deadline"), n, MAX_STORED_HOURS);
        for (size_t i = 0; sources[i] != NULL; i++) {
                if (wanted != NULL && strcmp(wanted, sources[i]) != 0)
                        continue;
                rc = stored_hours(env, sources[i], zone, from_ns, n, h);
                if (rc != CL_ENOTFOUND)
                        return rc;
                cl_an_hourly_free(h);
        }
        if (wanted != NULL)
                return cl_fail(CL_ENOTFOUND,
                               "no stored hours of %s %s for zone %s in the "
                               "requested range",
                               CL_AN_ARG(env, "intensity_source"), wanted,
                               zone);
        return rc;
#else
        /* NOTE: this build has no hourly intensity store (intensity.c),
           so stored and forecast hours are never read. */
        (void)env;
        (void)zone;
        (void)from_ns;
        (void)to_ns;
        if (cl_an_str(args, "intensity_source", NULL) != NULL)
                return cl_fail(CL_ENOTFOUND,
                               "%s given, but this build stores no hourly "
                               "intensity",
                               CL_AN_ARG(env, "intensity_source"));
        return CL_ENOTFOUND;
#endif
}

cl_err
cl_an_hourly_load(const struct cl_analysis_env *env, json_object *args,
                  const char *zone, int64_t from_ns, int64_t to_ns,
                  struct cl_an_hourly *h)
{
        json_object *profile = NULL;
        const struct cl_region *region;
        struct cl_regions regions;
        char codes[512];
        cl_err rc;

        memset(h, 0, sizeof(*h));
        rc = cl_regions_load(env->template_dir, &regions);
        if (rc != CL_OK)
                return rc;
        region = cl_region_find(&regions, zone);
        if (args != NULL)
                json_object_object_get_ex(args, "profile", &profile);
        if (region == NULL) {
                rc = cl_fail(CL_EINVAL, "unknown zone '%s'; zones of %s: %s",
                             zone, regions.path,
                             cl_region_codes(&regions, codes, sizeof(codes)));
                goto out;
        }
        if (profile != NULL) {
                rc = declared_profile(env, profile, region->code, h);
                goto out;
        }
        rc = try_stored(env, args, region->code, from_ns, to_ns, h);
        if (rc != CL_ENOTFOUND || cl_an_str(args, "intensity_source", NULL))
                goto out;
        if (!region->has_profile) {
                rc = cl_fail(CL_ENOTFOUND,
                             "no hourly intensity for zone %s: no stored or "
                             "forecast hours in the range and no typical_day "
                             "in %s; pass %s with 24 values in "
                             "gCO2eq/kWh",
                             region->code, regions.path,
                             CL_AN_ARG(env, "profile"));
                goto out;
        }
        rc = alloc_hours(h, 24);
        for (size_t i = 0; rc == CL_OK && i < 24; i++) {
                h->values[i] = region->profile[i];
                h->has[i] = 1;
        }
        if (rc == CL_OK) {
                h->cyclic = 1;
                h->method = "declared";
                snprintf(h->source, sizeof(h->source),
                         "typical day of zone %s in %s: %s", region->code,
                         regions.path, region->profile_source);
        }
out:
        if (rc != CL_OK)
                cl_an_hourly_free(h);
        cl_regions_free(&regions);
        return rc;
}

void
cl_an_hourly_free(struct cl_an_hourly *h)
{
        free(h->values);
        free(h->has);
        h->values = NULL;
        h->has = NULL;
        h->n = 0;
}
