/*
 * Source "static": hourly intensity from a local file, for air-gapped
 * sites and tests. CSV has the header hour,zone,g_per_kwh with the
 * optional columns basis and quality in any order; JSON is an object
 * {"basis": ..., "factor_set": ..., "hours": [{"hour", "zone",
 * "g_per_kwh", "basis", "quality"}]} or a bare array of such hours, and
 * any other key is an error. Hours are ISO 8601 with an offset and must
 * start a clock hour.
 *
 * The basis is consumption unless the file names one, because such a
 * file most often carries an official or contractual factor. It must be
 * the same on every row of a zone, and in JSON match the top-level basis
 * (one file, one kind of quantity).
 * The quality is "declared" unless a row names one: the values are given
 * to carbonledger, which cannot tell how they were made. An empty, null or
 * 0 value is stored as missing; hours the file does not list are not
 * stored. The factor set is the file's factor_set, or "file:" and its
 * name; the hash is the file's SHA-256.
 *
 * A value is a plain decimal number (digits, an optional fraction and
 * exponent), so hexadecimal, "nan" and "inf", which strtod also reads,
 * are errors. A value outside 0 to CL_INTENSITY_MAX_G_PER_KWH in a row of any
 * zone fails the whole file, as does a NUL byte, so nothing is stored
 * from a file with a typo.
 */
#include "intensity_source.h"

#include "fsutil.h"
#include "log.h"
#include "timeutil.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STATIC_MAX_BYTES (64u << 20)

enum column { COL_HOUR, COL_ZONE, COL_VALUE, COL_BASIS, COL_QUALITY, COL_N };

static const char *const column_names[COL_N] = {"hour", "zone", "g_per_kwh",
                                                "basis", "quality"};

struct static_state {
        const char *path;
        const char *zone;
        int basis; /* -1 until a row or the file sets it */
        struct cl_source_batch *out;
};

static char *
trim(char *s)
{
        char *end;

        while (*s == ' ' || *s == '\t' || *s == '"')
                s++;
        end = s + strlen(s);
        while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
                           end[-1] == '\r' || end[-1] == '"'))
                *--end = '\0';
        return s;
}

/*
 * Checks that g is within 0 to CL_INTENSITY_MAX_G_PER_KWH. text is the value
 * as the file spells it, for the message.
 */
static cl_err
check_range(const struct static_state *st, const char *where, double g,
            const char *text)
{
        if (g >= 0 && g <= CL_INTENSITY_MAX_G_PER_KWH)
                return CL_OK;
        return cl_fail(CL_EFORMAT,
                       "%s: %s: g_per_kwh '%.32s' is out of range: expected "
                       "0 (missing) to %.0f gCO2eq/kWh",
                       st->path, where, text, CL_INTENSITY_MAX_G_PER_KWH);
}

/* Returns 1 when text, after an optional sign, starts with nan or inf. */
static int
names_non_finite(const char *text)
{
        if (*text == '+' || *text == '-')
                text++;
        return strncasecmp(text, "nan", 3) == 0 ||
               strncasecmp(text, "inf", 3) == 0;
}

/* Returns 1 when text is [sign] digits [. digits] [e [sign] digits]. */
static int
is_plain_decimal(const char *text)
{
        const char *p = text;
        size_t mantissa;

        if (*p == '+' || *p == '-')
                p++;
        mantissa = strspn(p, "0123456789");
        p += mantissa;
        if (*p == '.') {
                size_t fraction = strspn(p + 1, "0123456789");

                mantissa += fraction;
                p += 1 + fraction;
        }
        if (mantissa == 0)
                return 0;
        if (*p == 'e' || *p == 'E') {
                size_t exponent;

                p++;
                if (*p == '+' || *p == '-')
                        p++;
                exponent = strspn(p, "0123456789");
                if (exponent == 0)
                        return 0;
                p += exponent;
        }
        return *p == '\0';
}

/*
 * Parses the value text of a row or entry into *out, within 0 to
 * CL_INTENSITY_MAX_G_PER_KWH. Fails with CL_EFORMAT naming the file, where and
 * the text.
 */
static cl_err
parse_value(const struct static_state *st, const char *where, const char *text,
            double *out)
{
        double g;

        if (names_non_finite(text))
                return cl_fail(CL_EFORMAT,
                               "%s: %s: g_per_kwh '%.32s' is not a finite "
                               "number",
                               st->path, where, text);
        if (!is_plain_decimal(text))
                return cl_fail(CL_EFORMAT,
                               "%s: %s: g_per_kwh '%.32s' is not a decimal "
                               "number",
                               st->path, where, text);
        errno = 0;
        g = strtod(text, NULL);
        /* strtod sets ERANGE on overflow and underflow. Both are out of
         * range, because no intensity is that large or that small. */
        if (errno == ERANGE || !isfinite(g))
                g = -1;
        *out = g;
        return check_range(st, where, g, text);
}

/* Adds one hour of the file; where names its line or entry. */
static cl_err
add_hour(struct static_state *st, const char *where, const char *hour_text,
         const char *zone, int has_value, double g, const char *basis,
         const char *quality)
{
        struct cl_source_hour h;
        int64_t t;
        int b, q = CL_QUALITY_DECLARED;

        if (strcmp(zone, st->zone) != 0)
                return CL_OK;
        if (cl_parse_iso8601(hour_text, &t) != CL_OK)
                return cl_fail(CL_EFORMAT, "%s: %s: %s", st->path, where,
                               cl_last_error());
        if (cl_intensity_hour_start(t) != t)
                return cl_fail(CL_EFORMAT,
                               "%s: %s: hour '%s' does not start a clock hour",
                               st->path, where, hour_text);
        if (basis != NULL && basis[0] != '\0') {
                b = cl_intensity_basis_parse(basis);
                if (b < 0)
                        return cl_fail(CL_EFORMAT,
                                       "%s: %s: basis '%.32s' is not "
                                       "generation, consumption or marginal",
                                       st->path, where, basis);
                if (st->basis >= 0 && st->basis != b)
                        return cl_fail(CL_EFORMAT,
                                       "%s: %s: basis %s differs from the "
                                       "file's %s; use one basis per file",
                                       st->path, where, basis,
                                       cl_intensity_basis_name(st->basis));
                st->basis = b;
        }
        if (quality != NULL && quality[0] != '\0') {
                q = cl_intensity_quality_parse(quality);
                if (q < 0 || q == CL_QUALITY_MISSING)
                        return cl_fail(CL_EFORMAT,
                                       "%s: %s: quality '%.32s' is not "
                                       "measured, estimated, declared or "
                                       "fallback",
                                       st->path, where, quality);
        }
        for (size_t i = 0; i < st->out->n; i++)
                if (st->out->hours[i].hour_ns == t)
                        return cl_fail(CL_EFORMAT,
                                       "%s: %s: hour %s of zone %s is listed "
                                       "twice",
                                       st->path, where, hour_text, zone);
        memset(&h, 0, sizeof(h));
        h.hour_ns = t;
        if (!has_value || g == 0) {
                h.quality = CL_QUALITY_MISSING;
                snprintf(h.detail, sizeof(h.detail), "%s: %s in the file",
                         where,
                         has_value ? "0 treated as missing" : "no value");
        } else {
                h.has_value = 1;
                h.g_per_kwh = g;
                h.quality = (enum cl_intensity_quality)q;
                snprintf(h.detail, sizeof(h.detail), "%s of the file", where);
        }
        return cl_batch_add(st->out, &h);
}

static cl_err
parse_header(char *line, const char *path, int *index, int *n_columns)
{
        int n = 0;

        for (int c = 0; c < COL_N; c++)
                index[c] = -1;
        for (char *p = line; p != NULL; n++) {
                char *comma = strchr(p, ',');
                char *name;
                int known = 0;

                if (comma != NULL)
                        *comma = '\0';
                name = trim(p);
                for (int c = 0; c < COL_N; c++)
                        if (strcmp(name, column_names[c]) == 0) {
                                if (index[c] >= 0)
                                        return cl_fail(CL_EFORMAT,
                                                       "%s:1: column %s "
                                                       "appears twice",
                                                       path, name);
                                index[c] = n;
                                known = 1;
                        }
                if (!known)
                        return cl_fail(CL_EFORMAT,
                                       "%s:1: unknown column '%.32s'; the "
                                       "header is hour,zone,g_per_kwh "
                                       "[,basis][,quality]",
                                       path, name);
                p = comma != NULL ? comma + 1 : NULL;
        }
        if (index[COL_HOUR] < 0 || index[COL_ZONE] < 0 || index[COL_VALUE] < 0)
                return cl_fail(CL_EFORMAT,
                               "%s:1: the header must name hour, zone and "
                               "g_per_kwh",
                               path);
        *n_columns = n;
        return CL_OK;
}

static cl_err
parse_csv_row(struct static_state *st, char *line, int lineno, const int *index,
              int n_columns)
{
        char *fields[COL_N + 8];
        char where[32];
        double g = 0;
        int n = 0, has_value;
        cl_err rc;

        for (char *p = line; p != NULL && n < COL_N + 8; n++) {
                char *comma = strchr(p, ',');

                if (comma != NULL)
                        *comma = '\0';
                fields[n] = trim(p);
                p = comma != NULL ? comma + 1 : NULL;
        }
        if (n != n_columns)
                return cl_fail(CL_EFORMAT,
                               "%s:%d: expected %d columns, found %d", st->path,
                               lineno, n_columns, n);
        snprintf(where, sizeof(where), "line %d", lineno);
        has_value = fields[index[COL_VALUE]][0] != '\0';
        if (has_value) {
                rc = parse_value(st, where, fields[index[COL_VALUE]], &g);
                if (rc != CL_OK)
                        return rc;
        }
        return add_hour(st, where, fields[index[COL_HOUR]],
                        fields[index[COL_ZONE]], has_value, g,
                        index[COL_BASIS] >= 0 ? fields[index[COL_BASIS]] : NULL,
                        index[COL_QUALITY] >= 0 ? fields[index[COL_QUALITY]]
                                                : NULL);
}

static cl_err
parse_csv(char *text, struct static_state *st)
{
        int index[COL_N], n_columns = 0, lineno = 0;
        char *line = text;
        cl_err rc = CL_OK;

        while (rc == CL_OK && line != NULL && *line != '\0') {
                char *next = strchr(line, '\n');

                if (next != NULL)
                        *next++ = '\0';
                lineno++;
                if (line[strspn(line, " \t\r")] == '\0') {
                        line = next;
                        continue;
                }
                if (n_columns == 0)
                        rc = parse_header(line, st->path, index, &n_columns);
                else
                        rc = parse_csv_row(st, line, lineno, index, n_columns);
                line = next;
        }
        if (rc == CL_OK && n_columns == 0)
                rc = cl_fail(CL_EFORMAT, "%s: empty file", st->path);
        return rc;
}

static const char *const top_keys[] = {"basis", "factor_set", "hours", NULL};
static const char *const entry_keys[] = {"hour",  "zone",    "g_per_kwh",
                                         "basis", "quality", NULL};

/* Fails naming the first key of obj that is not in known. */
static cl_err
check_keys(json_object *obj, const char *const *known, const char *path,
           const char *where, const char *expected)
{
        json_object_object_foreach(obj, key, value)
        {
                const char *const *k = known;

                (void)value;
                while (*k != NULL && strcmp(*k, key) != 0)
                        k++;
                if (*k == NULL)
                        return cl_fail(CL_EFORMAT,
                                       "%s: %s: unknown key '%.32s'; "
                                       "expected %s",
                                       path, where, key, expected);
        }
        return CL_OK;
}

/* Sets *out to the string under key, NULL when absent or null. */
static cl_err
json_text(json_object *obj, const char *key, const char *path,
          const char *where, const char **out)
{
        json_object *v;

        *out = NULL;
        if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
                return CL_OK;
        if (!json_object_is_type(v, json_type_string))
                return cl_fail(CL_EFORMAT, "%s: %s: %s must be a string", path,
                               where, key);
        *out = json_object_get_string(v);
        return CL_OK;
}

/*
 * Reads the g_per_kwh of entry e: a JSON number or a decimal string, and
 * no value when absent, null or "".
 */
static cl_err
entry_value(const struct static_state *st, const char *where, json_object *e,
            int *has_value, double *g)
{
        json_object *v;
        const char *text;

        *has_value = 0;
        *g = 0;
        if (!json_object_object_get_ex(e, "g_per_kwh", &v) || v == NULL)
                return CL_OK;
        if (json_object_is_type(v, json_type_string)) {
                text = json_object_get_string(v);
                if (text[0] == '\0')
                        return CL_OK;
                *has_value = 1;
                return parse_value(st, where, text, g);
        }
        if (!json_object_is_type(v, json_type_int) &&
            !json_object_is_type(v, json_type_double))
                return cl_fail(CL_EFORMAT, "%s: %s: g_per_kwh is not a number",
                               st->path, where);
        *has_value = 1;
        *g = json_object_get_double(v);
        /* json-c reads NaN, Infinity and 1e999 even in strict mode. */
        text = json_object_to_json_string(v);
        if (!isfinite(*g))
                return cl_fail(CL_EFORMAT,
                               "%s: %s: g_per_kwh '%.32s' is not a finite "
                               "number",
                               st->path, where, text);
        return check_range(st, where, *g, text);
}

/* Parses entry index (from 0) of the hours array. */
static cl_err
parse_entry(struct static_state *st, json_object *e, size_t index)
{
        const char *hour = NULL, *zone = NULL, *basis = NULL, *quality = NULL;
        char where[32];
        double g = 0;
        int has_value = 0;
        cl_err rc;

        snprintf(where, sizeof(where), "entry %zu", index + 1);
        if (!json_object_is_type(e, json_type_object))
                return cl_fail(CL_EFORMAT, "%s: %s is not an object", st->path,
                               where);
        rc = check_keys(e, entry_keys, st->path, where,
                        "hour, zone, g_per_kwh, basis or quality");
        if (rc == CL_OK)
                rc = json_text(e, "hour", st->path, where, &hour);
        if (rc == CL_OK)
                rc = json_text(e, "zone", st->path, where, &zone);
        if (rc == CL_OK)
                rc = json_text(e, "basis", st->path, where, &basis);
        if (rc == CL_OK)
                rc = json_text(e, "quality", st->path, where, &quality);
        if (rc == CL_OK && (hour == NULL || zone == NULL))
                rc = cl_fail(CL_EFORMAT,
                             "%s: %s needs 'hour' and 'zone' strings", st->path,
                             where);
        if (rc == CL_OK)
                rc = entry_value(st, where, e, &has_value, &g);
        if (rc == CL_OK)
                rc = add_hour(st, where, hour, zone, has_value, g, basis,
                              quality);
        return rc;
}

/* Reads the top-level object: its keys, basis, factor set and hours. */
static cl_err
parse_json_object(json_object *doc, struct static_state *st, char *factor_set,
                  size_t fs_size, json_object **hours)
{
        const char *basis = NULL, *set = NULL;
        cl_err rc;

        rc = check_keys(doc, top_keys, st->path, "top level",
                        "basis, factor_set or hours");
        if (rc != CL_OK)
                return rc;
        if (!json_object_object_get_ex(doc, "hours", hours) ||
            !json_object_is_type(*hours, json_type_array))
                return cl_fail(CL_EFORMAT,
                               "%s: expected an array of hours or an object "
                               "with an 'hours' array",
                               st->path);
        rc = json_text(doc, "basis", st->path, "top level", &basis);
        if (rc == CL_OK)
                rc = json_text(doc, "factor_set", st->path, "top level", &set);
        if (rc != CL_OK)
                return rc;
        if (basis != NULL && (st->basis = cl_intensity_basis_parse(basis)) < 0)
                return cl_fail(CL_EFORMAT,
                               "%s: basis '%.32s' is not generation, "
                               "consumption or marginal",
                               st->path, basis);
        if (set != NULL && strlen(set) >= fs_size)
                return cl_fail(CL_EFORMAT,
                               "%s: factor_set is longer than %zu bytes",
                               st->path, fs_size - 1);
        if (set != NULL)
                snprintf(factor_set, fs_size, "%s", set);
        return CL_OK;
}

static cl_err
parse_json(const char *text, size_t len, struct static_state *st,
           char *factor_set, size_t fs_size)
{
        json_object *doc = NULL, *hours = NULL;
        cl_err rc;

        rc = cl_json_parse(text, len, st->path, &doc);
        if (rc != CL_OK)
                return rc;
        if (json_object_is_type(doc, json_type_array))
                hours = doc;
        else if (json_object_is_type(doc, json_type_object))
                rc = parse_json_object(doc, st, factor_set, fs_size, &hours);
        else
                rc = cl_fail(CL_EFORMAT,
                             "%s: expected an array of hours or an object "
                             "with an 'hours' array",
                             st->path);
        for (size_t i = 0; rc == CL_OK && i < json_object_array_length(hours);
             i++)
                rc = parse_entry(st, json_object_array_get_idx(hours, i), i);
        json_object_put(doc);
        return rc;
}

/* Fails when text has a NUL byte, which would end the text early. */
static cl_err
check_no_nul(const char *text, size_t len, const char *path)
{
        const char *nul = memchr(text, '\0', len);
        int line = 1;

        if (nul == NULL)
                return CL_OK;
        for (const char *p = text; p < nul; p++)
                if (*p == '\n')
                        line++;
        return cl_fail(CL_EFORMAT,
                       "%s: line %d: NUL byte at byte offset %zu; a static "
                       "file must be text",
                       path, line, (size_t)(nul - text));
}

cl_err
cl_static_parse(const char *text, size_t len, const char *path,
                const char *zone, enum cl_intensity_basis *basis,
                struct cl_source_batch *out)
{
        struct static_state st = {path, zone, -1, out};
        char factor_set[48];
        const char *name = strrchr(path, '/');
        size_t i = 0;
        char *copy;
        cl_err rc;

        *basis = CL_BASIS_CONSUMPTION;
        snprintf(factor_set, sizeof(factor_set), "file:%s",
                 name != NULL ? name + 1 : path);
        rc = check_no_nul(text, len, path);
        if (rc != CL_OK)
                return rc;
        while (i < len && (text[i] == ' ' || text[i] == '\n' ||
                           text[i] == '\r' || text[i] == '\t'))
                i++;
        if (i < len && (text[i] == '{' || text[i] == '[')) {
                rc = parse_json(text, len, &st, factor_set, sizeof(factor_set));
        } else {
                copy = strndup(text, len);
                if (copy == NULL)
                        return cl_fail(CL_ENOMEM, "%s", path);
                rc = parse_csv(copy, &st);
                free(copy);
        }
        for (size_t h = 0; rc == CL_OK && h < out->n; h++)
                snprintf(out->hours[h].factor_set,
                         sizeof(out->hours[h].factor_set), "%s", factor_set);
        *basis = st.basis >= 0 ? (enum cl_intensity_basis)st.basis
                               : CL_BASIS_CONSUMPTION;
        return rc;
}

cl_err
cl_source_static_fetch(struct cl_source_ctx *ctx)
{
        struct cl_source_batch batch = {0};
        enum cl_intensity_basis basis;
        const char *path = ctx->cfg->static_path;
        char *text = NULL, sha[65];
        size_t len;
        cl_err rc;

        if (path == NULL)
                return cl_fail(CL_EINVAL,
                               "static: no file: give --static-file PATH");
        rc = cl_read_file(path, STATIC_MAX_BYTES, &text, &len);
        if (rc != CL_OK)
                goto out;
        cl_sha256_hex(text, len, sha);
        rc = cl_static_parse(text, len, path, ctx->zone, &basis, &batch);
        if (rc == CL_OK)
                rc = cl_source_store(ctx, ctx->needed[0],
                                     ctx->needed[ctx->n_needed - 1] +
                                         CL_NS_PER_HOUR,
                                     &batch, basis, sha, "", "", 0);
        if (rc == CL_OK && batch.n == 0)
                cl_warn("static_no_hours", "file=%s zone=%s", path, ctx->zone);
out:
        if (rc != CL_OK)
                cl_source_note(ctx, "static: %s", cl_last_error());
        free(text);
        cl_batch_free(&batch);
        return rc;
}
