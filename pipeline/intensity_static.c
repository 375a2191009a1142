/*
 * Source "static": hourly intensity from a local file, for air-gapped
 * sites and tests. CSV has the header hour,zone,g_per_kwh with the
 * optional columns basis and quality in any order; JSON is an object
 * {"basis": ..., "factor_set": ..., "hours": [{"hour", "zone",
 * "g_per_kwh", "quality"}]} or a bare array of such hours. Hours are
 * ISO 8601 with an offset and must start a clock hour.
 *
 * The basis is consumption unless the file names one, because such a
 * file most often carries an official or contractual factor, and it must
 * be the same on every row of a zone (one file, one kind of quantity).
 * The quality is "declared" unless a row names one: the values are given
 * to carbonledger, which cannot tell how they were made. An empty, null or
 * 0 value is stored as missing; hours the file does not list are not
 * stored. The factor set is the file's factor_set, or "file:" and its
 * name; the hash is the file's SHA-256.
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

/* Adds one hour given as text fields; line 0 means a JSON entry. */
static cl_err
add_hour(struct static_state *st, int line, const char *hour_text,
         const char *zone, int has_value, double g, const char *basis,
         const char *quality)
{
        struct cl_source_hour h;
        int64_t t;
        int b, q = CL_QUALITY_DECLARED;
        char where[32];

        if (line > 0)
                snprintf(where, sizeof(where), "line %d", line);
        else
                snprintf(where, sizeof(where), "entry %zu", st->out->n + 1);
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
        if (has_value && (!isfinite(g) || g < 0))
                return cl_fail(CL_EFORMAT, "%s: %s: g_per_kwh %g is negative",
                               st->path, where, g);
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
        char *end;
        double g = 0;
        int n = 0, has_value;

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
        has_value = fields[index[COL_VALUE]][0] != '\0';
        if (has_value) {
                errno = 0;
                g = strtod(fields[index[COL_VALUE]], &end);
                if (*end != '\0' || errno != 0)
                        return cl_fail(CL_EFORMAT,
                                       "%s:%d: g_per_kwh '%.32s' is not a "
                                       "number",
                                       st->path, lineno,
                                       fields[index[COL_VALUE]]);
        }
        return add_hour(st, lineno, fields[index[COL_HOUR]],
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

static const char *
json_text(json_object *obj, const char *key)
{
        json_object *v;

        if (!json_object_object_get_ex(obj, key, &v) ||
            !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static cl_err
parse_json(const char *text, size_t len, struct static_state *st,
           char *factor_set, size_t fs_size)
{
        json_object *doc = NULL, *hours = NULL;
        const char *s;
        cl_err rc;

        rc = cl_json_parse(text, len, st->path, &doc);
        if (rc != CL_OK)
                return rc;
        if (json_object_is_type(doc, json_type_array)) {
                hours = doc;
        } else if (!json_object_is_type(doc, json_type_object) ||
                   !json_object_object_get_ex(doc, "hours", &hours) ||
                   !json_object_is_type(hours, json_type_array)) {
                rc = cl_fail(CL_EFORMAT,
                             "%s: expected an array of hours or an object "
                             "with an 'hours' array",
                             st->path);
                goto out;
        } else {
                s = json_text(doc, "basis");
                if (s != NULL && (st->basis = cl_intensity_basis_parse(s)) < 0)
                        rc = cl_fail(CL_EFORMAT,
                                     "%s: basis '%.32s' is not generation, "
                                     "consumption or marginal",
                                     st->path, s);
                s = json_text(doc, "factor_set");
                if (s != NULL)
                        snprintf(factor_set, fs_size, "%s", s);
        }
        for (size_t i = 0; rc == CL_OK && i < json_object_array_length(hours);
             i++) {
                json_object *e = json_object_array_get_idx(hours, i), *v;
                const char *hour = json_text(e, "hour");
                const char *zone = json_text(e, "zone");
                double g = 0;
                int has_value;

                if (hour == NULL || zone == NULL) {
                        rc = cl_fail(CL_EFORMAT,
                                     "%s: entry %zu needs 'hour' and 'zone' "
                                     "strings",
                                     st->path, i + 1);
                        break;
                }
                has_value =
                    json_object_object_get_ex(e, "g_per_kwh", &v) && v != NULL;
                if (has_value && !cl_json_number(v, &g)) {
                        rc = cl_fail(CL_EFORMAT,
                                     "%s: entry %zu: g_per_kwh is not a "
                                     "number",
                                     st->path, i + 1);
                        break;
                }
                rc = add_hour(st, 0, hour, zone, has_value, g, NULL,
                              json_text(e, "quality"));
        }
out:
        json_object_put(doc);
        return rc;
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

        snprintf(factor_set, sizeof(factor_set), "file:%s",
                 name != NULL ? name + 1 : path);
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
