/*
 * Source "kpx": the Korea Power Exchange generation mix on the public data
 * portal. One request per KST day (baseDate) returns the day's 5-minute
 * MW by fuel, and each UTC hour's mean MW per fuel is its MWh. The hour's
 * intensity is sum(MWh_f x EF_f) / sum(MWh_f) over the fuel fields that
 * the operation's table in templates/kpx-fuels.json includes. Pumped
 * storage and the fuelPwrTot total are excluded, so the denominator is
 * the sum of the included fields. The result cannot exceed the largest
 * factor of the set, so only a wrong factor table can produce an hour
 * above 2000 gCO2eq/kWh, which cl_source_store stores as missing.
 *
 * Bodies are JSON or XML, told apart by their first non-space character,
 * because the gateway answers errors in XML whatever dataType asked for,
 * with HTTP 200 or 4xx. Only the result code decides the outcome; the
 * result message varies between hosts. The portal gateway is asked first;
 * when its retries are exhausted on transient failures the legacy host is
 * asked once more before the day is given up.
 */
#include "intensity_source.h"

#include "fsutil.h"
#include "log.h"
#include "timeutil.h"

#include <errno.h>
#include <json-c/json.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KPX_DEFAULT_URL "https://apis.data.go.kr/B552115"
/* NOTE: the legacy host's path layout under /openapi is not confirmed. */
#define KPX_DEFAULT_LEGACY_URL "https://openapi.kpx.or.kr/openapi"
#define KPX_TEMPLATE_MAX_BYTES (1u << 20)

/* --- The fuel table ------------------------------------------------- */

static cl_err
get_object(json_object *parent, const char *key, const char *path,
           json_object **out)
{
        if (!json_object_object_get_ex(parent, key, out) ||
            !json_object_is_type(*out, json_type_object))
                return cl_fail(CL_EFORMAT, "%s: '%s' must be an object", path,
                               key);
        return CL_OK;
}

static cl_err
get_text(json_object *parent, const char *key, const char *path, char *buf,
         size_t size, int required)
{
        json_object *v;

        buf[0] = '\0';
        if (!json_object_object_get_ex(parent, key, &v) || v == NULL) {
                if (required)
                        return cl_fail(CL_EFORMAT, "%s: '%s' is missing", path,
                                       key);
                return CL_OK;
        }
        if (!json_object_is_type(v, json_type_string) ||
            (size_t)json_object_get_string_len(v) >= size)
                return cl_fail(CL_EFORMAT,
                               "%s: '%s' must be a string of at most %zu bytes",
                               path, key, size - 1);
        snprintf(buf, size, "%s", json_object_get_string(v));
        return CL_OK;
}

static int
is_excluded(json_object *excluded, const char *fuel)
{
        for (size_t i = 0; i < json_object_array_length(excluded); i++) {
                const char *e = json_object_get_string(
                    json_object_array_get_idx(excluded, i));

                if (e != NULL && strcmp(e, fuel) == 0)
                        return 1;
        }
        return 0;
}

/* Fills the included fields of op from its "fields" map and the set. */
static cl_err
load_fields(json_object *op, json_object *factors, json_object *excluded,
            const char *path, struct cl_kpx_fuels *out)
{
        json_object *fields;
        cl_err rc;

        rc = get_object(op, "fields", path, &fields);
        if (rc != CL_OK)
                return rc;
        json_object_object_foreach(fields, field, fuel_v)
        {
                const char *fuel = json_object_get_string(fuel_v);
                json_object *ef;
                double g;

                if (!json_object_is_type(fuel_v, json_type_string))
                        return cl_fail(CL_EFORMAT,
                                       "%s: operation %s: field '%s' must "
                                       "name a fuel",
                                       path, out->operation, field);
                if (is_excluded(excluded, fuel))
                        continue;
                if (!json_object_object_get_ex(factors, fuel, &ef) ||
                    !cl_json_number(ef, &g) || g < 0)
                        return cl_fail(CL_EFORMAT,
                                       "%s: field '%s' of %s is fuel '%s', "
                                       "which has no factor in set '%s' and "
                                       "is not in excluded_fuels",
                                       path, field, out->operation, fuel,
                                       out->factor_set);
                if (out->n_fields == CL_KPX_MAX_FIELDS ||
                    strlen(field) >= sizeof(out->field[0]) ||
                    strlen(fuel) >= sizeof(out->fuel[0]))
                        return cl_fail(CL_EFORMAT,
                                       "%s: operation %s: too many or too "
                                       "long field names (at most %d)",
                                       path, out->operation, CL_KPX_MAX_FIELDS);
                snprintf(out->field[out->n_fields], sizeof(out->field[0]), "%s",
                         field);
                snprintf(out->fuel[out->n_fields], sizeof(out->fuel[0]), "%s",
                         fuel);
                out->g_per_kwh[out->n_fields] = g;
                out->n_fields++;
        }
        if (out->n_fields == 0)
                return cl_fail(CL_EFORMAT,
                               "%s: operation %s includes no fuel field", path,
                               out->operation);
        return CL_OK;
}

cl_err
cl_kpx_fuels_load(const char *template_dir, const char *operation,
                  const char *factor_set, struct cl_kpx_fuels *out)
{
        json_object *doc = NULL, *sets, *set, *factors, *ops, *op, *v;
        json_object *excluded = NULL;
        char path[PATH_MAX];
        char *text = NULL;
        size_t len;
        double rows;
        cl_err rc;

        memset(out, 0, sizeof(*out));
        rc = cl_path_join(path, sizeof(path), template_dir, "kpx-fuels.json");
        if (rc != CL_OK)
                return rc;
        rc = cl_read_file(path, KPX_TEMPLATE_MAX_BYTES, &text, &len);
        if (rc != CL_OK)
                return rc;
        rc = cl_json_parse(text, len, path, &doc);
        if (rc != CL_OK)
                goto out;
        if (factor_set == NULL || factor_set[0] == '\0') {
                rc = get_text(doc, "default_factor_set", path, out->factor_set,
                              sizeof(out->factor_set), 1);
        } else if (strlen(factor_set) >= sizeof(out->factor_set)) {
                rc = cl_fail(CL_ENOTFOUND, "%s: no factor set '%.60s'", path,
                             factor_set);
        } else {
                snprintf(out->factor_set, sizeof(out->factor_set), "%s",
                         factor_set);
        }
        if (rc == CL_OK && (operation == NULL || operation[0] == '\0'))
                rc = get_text(doc, "default_operation", path, out->operation,
                              sizeof(out->operation), 1);
        else if (rc == CL_OK)
                snprintf(out->operation, sizeof(out->operation), "%s",
                         operation);
        if (rc == CL_OK)
                rc = get_object(doc, "factor_sets", path, &sets);
        if (rc == CL_OK &&
            (!json_object_object_get_ex(sets, out->factor_set, &set) ||
             !json_object_is_type(set, json_type_object)))
                rc = cl_fail(CL_ENOTFOUND,
                             "%s: no factor set '%s' (the file defines "
                             "'lifecycle' and 'direct' by default)",
                             path, out->factor_set);
        if (rc == CL_OK)
                rc = get_object(set, "g_per_kwh", path, &factors);
        if (rc == CL_OK &&
            (!json_object_object_get_ex(doc, "excluded_fuels", &excluded) ||
             !json_object_is_type(excluded, json_type_array)))
                rc = cl_fail(CL_EFORMAT,
                             "%s: 'excluded_fuels' must be an array", path);
        if (rc == CL_OK)
                rc = get_object(doc, "operations", path, &ops);
        if (rc == CL_OK &&
            (!json_object_object_get_ex(ops, out->operation, &op) ||
             !json_object_is_type(op, json_type_object)))
                rc = cl_fail(CL_ENOTFOUND, "%s: no operation '%s'", path,
                             out->operation);
        if (rc == CL_OK)
                rc = get_text(op, "legacy_path", path, out->legacy_path,
                              sizeof(out->legacy_path), 0);
        if (rc == CL_OK)
                rc = get_text(op, "date_param", path, out->date_param,
                              sizeof(out->date_param), 0);
        out->rows_per_day = 288;
        if (rc == CL_OK && json_object_object_get_ex(op, "rows_per_day", &v)) {
                if (!cl_json_number(v, &rows) || rows < 1 || rows > 10000)
                        rc = cl_fail(CL_EFORMAT,
                                     "%s: operation %s: 'rows_per_day' must "
                                     "be 1 to 10000",
                                     path, out->operation);
                else
                        out->rows_per_day = (int)rows;
        }
        if (rc == CL_OK)
                rc = load_fields(op, factors, excluded, path, out);
out:
        json_object_put(doc);
        free(text);
        return rc;
}

/* --- Parsing -------------------------------------------------------- */

static int
digits(const char *p, int n, int *out)
{
        int v = 0;

        for (int i = 0; i < n; i++) {
                if (p[i] < '0' || p[i] > '9')
                        return -1;
                v = v * 10 + (p[i] - '0');
        }
        *out = v;
        return 0;
}

cl_err
cl_kpx_parse_time(const char *text, int64_t *out_ns)
{
        int y, mo, d, h, mi, s, check_y, check_mo, check_d;
        int64_t days;

        if (strlen(text) != 14 || digits(text, 4, &y) ||
            digits(text + 4, 2, &mo) || digits(text + 6, 2, &d) ||
            digits(text + 8, 2, &h) || digits(text + 10, 2, &mi) ||
            digits(text + 12, 2, &s) || mo < 1 || mo > 12 || d < 1 || h > 24 ||
            mi > 59 || s > 59)
                return cl_fail(CL_EFORMAT,
                               "invalid KPX time '%.20s': expected "
                               "YYYYMMDDHHMMSS (KST)",
                               text);
        days = cl_days_from_civil(y, mo, d);
        cl_civil_from_days(days, &check_y, &check_mo, &check_d);
        if (check_d != d || check_mo != mo)
                return cl_fail(CL_EFORMAT, "invalid KPX date '%.20s'", text);
        /* 24:00:00 is the end of the day, the same instant as 00:00 next. */
        *out_ns = (days * 86400 + h * 3600 + mi * 60 + s) * CL_NS_PER_S -
                  CL_KST_OFFSET_NS;
        return CL_OK;
}

enum cl_http_outcome
cl_kpx_code_outcome(const char *code)
{
        static const char *const transient[] = {"01", "02", "04", "05",
                                                "23", "99", NULL};

        if (strcmp(code, "00") == 0)
                return CL_HTTP_OK;
        if (strcmp(code, "03") == 0)
                return CL_HTTP_NO_DATA;
        if (strcmp(code, "22") == 0)
                return CL_HTTP_QUOTA;
        for (const char *const *t = transient; *t != NULL; t++)
                if (strcmp(code, *t) == 0)
                        return CL_HTTP_TRANSIENT;
        return CL_HTTP_PERMANENT;
}

void
cl_kpx_answer_free(struct cl_kpx_answer *a)
{
        free(a->samples);
        memset(a, 0, sizeof(*a));
}

static cl_err
add_sample(struct cl_kpx_answer *a, const struct cl_kpx_sample *s, size_t *cap)
{
        if (a->n_samples == *cap) {
                size_t ncap = *cap ? *cap * 2 : 300;
                void *grown = realloc(a->samples, ncap * sizeof(*a->samples));

                if (grown == NULL)
                        return cl_fail(CL_ENOMEM, "KPX samples");
                a->samples = grown;
                *cap = ncap;
        }
        a->samples[a->n_samples++] = *s;
        return CL_OK;
}

/* Copies a code that may be a JSON string or number into buf. */
static void
json_code(json_object *v, char *buf, size_t size)
{
        buf[0] = '\0';
        if (v == NULL)
                return;
        if (json_object_is_type(v, json_type_int))
                snprintf(buf, size, "%02d", json_object_get_int(v));
        else if (json_object_is_type(v, json_type_string))
                snprintf(buf, size, "%s", json_object_get_string(v));
}

static cl_err
json_item(json_object *item, const struct cl_kpx_fuels *fuels,
          struct cl_kpx_answer *a, size_t *cap)
{
        struct cl_kpx_sample s;
        json_object *t = NULL;
        char text[32];

        if (!json_object_is_type(item, json_type_object)) {
                a->n_bad_items++;
                return CL_OK;
        }
        if (!json_object_object_get_ex(item, "baseDatetime", &t))
                json_object_object_get_ex(item, "baseDateTime", &t);
        if (t != NULL && json_object_is_type(t, json_type_int))
                snprintf(text, sizeof(text), "%lld",
                         (long long)json_object_get_int64(t));
        else if (t != NULL && json_object_is_type(t, json_type_string))
                snprintf(text, sizeof(text), "%s", json_object_get_string(t));
        else
                text[0] = '\0';
        memset(&s, 0, sizeof(s));
        if (cl_kpx_parse_time(text, &s.t_ns) != CL_OK) {
                a->n_bad_items++;
                return CL_OK;
        }
        s.complete = 1;
        for (size_t f = 0; f < fuels->n_fields; f++) {
                json_object *v = NULL;

                json_object_object_get_ex(item, fuels->field[f], &v);
                if (!cl_json_number(v, &s.mw[f]))
                        s.complete = 0;
        }
        return add_sample(a, &s, cap);
}

static cl_err
parse_json(const char *body, size_t len, const struct cl_kpx_fuels *fuels,
           struct cl_kpx_answer *a)
{
        json_object *doc = NULL, *resp, *header, *b, *items, *item, *v;
        size_t cap = 0;
        cl_err rc;

        rc = cl_json_parse(body, len, "KPX response", &doc);
        if (rc != CL_OK)
                return rc;
        if (!json_object_object_get_ex(doc, "response", &resp) ||
            !json_object_object_get_ex(resp, "header", &header)) {
                rc = cl_fail(CL_EFORMAT,
                             "KPX response: no response.header object");
                goto out;
        }
        if (json_object_object_get_ex(header, "resultCode", &v))
                json_code(v, a->result_code, sizeof(a->result_code));
        if (json_object_object_get_ex(header, "resultMsg", &v) &&
            json_object_is_type(v, json_type_string))
                snprintf(a->result_msg, sizeof(a->result_msg), "%s",
                         json_object_get_string(v));
        if (a->result_code[0] == '\0') {
                rc = cl_fail(CL_EFORMAT, "KPX response: no resultCode");
                goto out;
        }
        /* body and items may be absent, null or "" when there are no rows. */
        if (!json_object_object_get_ex(resp, "body", &b) ||
            !json_object_is_type(b, json_type_object) ||
            !json_object_object_get_ex(b, "items", &items) || items == NULL)
                goto out;
        if (json_object_is_type(items, json_type_object)) {
                if (!json_object_object_get_ex(items, "item", &item))
                        item = NULL;
        } else {
                item = items; /* a bare array, or "" */
        }
        if (item != NULL && json_object_is_type(item, json_type_array)) {
                for (size_t i = 0;
                     rc == CL_OK && i < json_object_array_length(item); i++)
                        rc = json_item(json_object_array_get_idx(item, i),
                                       fuels, a, &cap);
        } else if (item != NULL &&
                   json_object_is_type(item, json_type_object)) {
                rc = json_item(item, fuels, a, &cap);
        }
out:
        json_object_put(doc);
        return rc;
}

static xmlNode *
xml_child(xmlNode *parent, const char *name)
{
        for (xmlNode *c = parent != NULL ? parent->children : NULL; c != NULL;
             c = c->next)
                if (c->type == XML_ELEMENT_NODE &&
                    strcmp((const char *)c->name, name) == 0)
                        return c;
        return NULL;
}

/* Copies the trimmed text of node into buf ("" when node is NULL). */
static void
xml_text(xmlNode *node, char *buf, size_t size)
{
        xmlChar *content;
        const char *p;
        size_t n;

        buf[0] = '\0';
        if (node == NULL)
                return;
        content = xmlNodeGetContent(node);
        if (content == NULL)
                return;
        p = (const char *)content;
        while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
                p++;
        snprintf(buf, size, "%s", p);
        n = strlen(buf);
        while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\n' ||
                         buf[n - 1] == '\r' || buf[n - 1] == '\t'))
                buf[--n] = '\0';
        xmlFree(content);
}

static int
text_number(const char *text, double *out)
{
        char *end;

        if (text[0] == '\0')
                return 0;
        errno = 0;
        *out = strtod(text, &end);
        return *end == '\0' && errno == 0 && isfinite(*out);
}

static cl_err
xml_items(xmlNode *items, const struct cl_kpx_fuels *fuels,
          struct cl_kpx_answer *a)
{
        size_t cap = 0;
        cl_err rc = CL_OK;

        for (xmlNode *it = items != NULL ? items->children : NULL;
             rc == CL_OK && it != NULL; it = it->next) {
                struct cl_kpx_sample s;
                char text[64];
                xmlNode *t;

                if (it->type != XML_ELEMENT_NODE ||
                    strcmp((const char *)it->name, "item") != 0)
                        continue;
                t = xml_child(it, "baseDatetime");
                if (t == NULL)
                        t = xml_child(it, "baseDateTime");
                xml_text(t, text, sizeof(text));
                memset(&s, 0, sizeof(s));
                if (cl_kpx_parse_time(text, &s.t_ns) != CL_OK) {
                        a->n_bad_items++;
                        continue;
                }
                s.complete = 1;
                for (size_t f = 0; f < fuels->n_fields; f++) {
                        xml_text(xml_child(it, fuels->field[f]), text,
                                 sizeof(text));
                        if (!text_number(text, &s.mw[f]))
                                s.complete = 0;
                }
                rc = add_sample(a, &s, &cap);
        }
        return rc;
}

static cl_err
parse_xml(const char *body, size_t len, const struct cl_kpx_fuels *fuels,
          struct cl_kpx_answer *a)
{
        xmlDoc *doc;
        xmlNode *root, *n;
        cl_err rc = CL_OK;

        a->xml = 1;
        if (len > INT_MAX)
                return cl_fail(CL_EFORMAT, "KPX response: XML too large");
        /* No network access and no entity expansion while parsing. */
        doc = xmlReadMemory(body, (int)len, "kpx.xml", NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR |
                                XML_PARSE_NOWARNING);
        if (doc == NULL)
                return cl_fail(CL_EFORMAT,
                               "KPX response: invalid XML (%zu bytes)", len);
        root = xmlDocGetRootElement(doc);
        if (root != NULL &&
            strcmp((const char *)root->name, "OpenAPI_ServiceResponse") == 0) {
                char auth[96], err[64];

                a->gateway_error = 1;
                n = xml_child(root, "cmmMsgHeader");
                xml_text(xml_child(n, "returnReasonCode"), a->result_code,
                         sizeof(a->result_code));
                xml_text(xml_child(n, "returnAuthMsg"), auth, sizeof(auth));
                xml_text(xml_child(n, "errMsg"), err, sizeof(err));
                snprintf(a->result_msg, sizeof(a->result_msg), "%s%s%s", err,
                         err[0] && auth[0] ? ": " : "", auth);
                if (a->result_code[0] == '\0')
                        rc = cl_fail(CL_EFORMAT, "KPX gateway error without "
                                                 "returnReasonCode");
        } else if (root != NULL &&
                   strcmp((const char *)root->name, "response") == 0) {
                n = xml_child(root, "header");
                xml_text(xml_child(n, "resultCode"), a->result_code,
                         sizeof(a->result_code));
                xml_text(xml_child(n, "resultMsg"), a->result_msg,
                         sizeof(a->result_msg));
                if (a->result_code[0] == '\0')
                        rc = cl_fail(CL_EFORMAT, "KPX response: no resultCode");
                else
                        rc = xml_items(
                            xml_child(xml_child(root, "body"), "items"), fuels,
                            a);
        } else {
                rc =
                    cl_fail(CL_EFORMAT,
                            "KPX response: unexpected XML root element '%.40s'",
                            root != NULL ? (const char *)root->name : "");
        }
        xmlFreeDoc(doc);
        return rc;
}

cl_err
cl_kpx_parse(const char *body, size_t len, const struct cl_kpx_fuels *fuels,
             struct cl_kpx_answer *out)
{
        size_t i = 0;
        cl_err rc;

        memset(out, 0, sizeof(*out));
        while (body != NULL && i < len &&
               (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' ||
                body[i] == '\t'))
                i++;
        /* A UTF-8 byte order mark may precede XML. */
        if (body != NULL && len - i >= 3 &&
            memcmp(body + i, "\xEF\xBB\xBF", 3) == 0)
                i += 3;
        if (body == NULL || i == len)
                return cl_fail(CL_EFORMAT, "KPX response: empty body");
        if (body[i] == '{')
                rc = parse_json(body + i, len - i, fuels, out);
        else if (body[i] == '<')
                rc = parse_xml(body + i, len - i, fuels, out);
        else
                rc = cl_fail(CL_EFORMAT,
                             "KPX response: neither JSON nor XML (first byte "
                             "0x%02x)",
                             (unsigned char)body[i]);
        if (rc != CL_OK)
                cl_kpx_answer_free(out);
        return rc;
}

/* --- Hourly intensity ----------------------------------------------- */

struct hour_sum {
        int64_t hour_ns;
        unsigned slots; /* bit n: the 5-minute slot n already counted */
        int samples;
        int skipped;
        double mw[CL_KPX_MAX_FIELDS];
};

static struct hour_sum *
find_sum(struct hour_sum *sums, size_t *n, size_t cap, int64_t hour_ns)
{
        for (size_t i = 0; i < *n; i++)
                if (sums[i].hour_ns == hour_ns)
                        return &sums[i];
        if (*n == cap)
                return NULL;
        memset(&sums[*n], 0, sizeof(sums[0]));
        sums[*n].hour_ns = hour_ns;
        return &sums[(*n)++];
}

static int
sample_usable(const struct cl_kpx_sample *s, size_t n_fields)
{
        if (!s->complete)
                return 0;
        for (size_t f = 0; f < n_fields; f++)
                if (s->mw[f] < 0)
                        return 0;
        return 1;
}

cl_err
cl_kpx_hourly(const struct cl_kpx_answer *a, const struct cl_kpx_fuels *fuels,
              struct cl_source_batch *out)
{
        struct hour_sum *sums;
        size_t n = 0, cap = a->n_samples;
        cl_err rc = CL_OK;

        if (a->n_samples == 0)
                return CL_OK;
        sums = calloc(cap, sizeof(*sums));
        if (sums == NULL)
                return cl_fail(CL_ENOMEM, "KPX hourly sums");
        for (size_t i = 0; i < a->n_samples; i++) {
                const struct cl_kpx_sample *s = &a->samples[i];
                int64_t hour = cl_intensity_hour_start(s->t_ns);
                struct hour_sum *h = find_sum(sums, &n, cap, hour);
                unsigned slot =
                    (unsigned)((s->t_ns - hour) / (5 * 60 * CL_NS_PER_S));

                if (!sample_usable(s, fuels->n_fields) ||
                    (h->slots & (1u << slot)) != 0) {
                        h->skipped++;
                        continue;
                }
                h->slots |= 1u << slot;
                h->samples++;
                for (size_t f = 0; f < fuels->n_fields; f++)
                        h->mw[f] += s->mw[f];
        }
        for (size_t i = 0; rc == CL_OK && i < n; i++) {
                struct cl_source_hour hour;
                double mwh = 0, g = 0;

                memset(&hour, 0, sizeof(hour));
                hour.hour_ns = sums[i].hour_ns;
                snprintf(hour.factor_set, sizeof(hour.factor_set), "%s",
                         fuels->factor_set);
                for (size_t f = 0; f < fuels->n_fields && sums[i].samples;
                     f++) {
                        /* Mean MW over the hour's samples = MWh in it. */
                        double e = sums[i].mw[f] / sums[i].samples;

                        mwh += e;
                        g += e * fuels->g_per_kwh[f];
                }
                if (sums[i].samples == 0) {
                        hour.quality = CL_QUALITY_MISSING;
                        snprintf(hour.detail, sizeof(hour.detail),
                                 "no usable 5-minute sample (%d with a "
                                 "missing, null or negative fuel value)",
                                 sums[i].skipped);
                } else if (mwh <= 0 || g <= 0) {
                        hour.quality = CL_QUALITY_MISSING;
                        snprintf(hour.detail, sizeof(hour.detail),
                                 "total generation of the included fuels is "
                                 "0 MWh in %d samples",
                                 sums[i].samples);
                } else {
                        hour.has_value = 1;
                        hour.g_per_kwh = g / mwh;
                        hour.quality = CL_QUALITY_MEASURED;
                        snprintf(hour.detail, sizeof(hour.detail),
                                 "%d of 12 5-minute samples, %.1f MWh, "
                                 "%d skipped, %s",
                                 sums[i].samples, mwh, sums[i].skipped,
                                 fuels->operation);
                }
                rc = cl_batch_add(out, &hour);
        }
        free(sums);
        return rc;
}

/* --- Fetching ------------------------------------------------------- */

struct kpx_classify_ctx {
        const struct cl_kpx_fuels *fuels;
        struct cl_kpx_answer answer;
        int parsed;
};

static enum cl_http_outcome
kpx_classify(struct cl_http_response *r, void *opaque)
{
        struct kpx_classify_ctx *c = opaque;
        enum cl_http_outcome o;

        cl_kpx_answer_free(&c->answer);
        c->parsed = 0;
        if (r->transport != 0 || r->status == 429 || r->status >= 500)
                return cl_http_classify_default(r, NULL);
        if (cl_kpx_parse(r->body, r->len, c->fuels, &c->answer) != CL_OK) {
                o = cl_http_classify_default(r, NULL);
                snprintf(r->message, sizeof(r->message), "HTTP %ld: %s",
                         r->status, cl_last_error());
                return o == CL_HTTP_OK ? CL_HTTP_INVALID : o;
        }
        c->parsed = 1;
        snprintf(r->result_code, sizeof(r->result_code), "%s",
                 c->answer.result_code);
        o = cl_kpx_code_outcome(c->answer.result_code);
        snprintf(r->message, sizeof(r->message), "%sresultCode %s%s%s",
                 c->answer.gateway_error ? "gateway error " : "",
                 c->answer.result_code, c->answer.result_msg[0] ? ": " : "",
                 c->answer.result_msg);
        if (o == CL_HTTP_OK && r->status >= 400) {
                /* A success code on an error status: trust neither. */
                return CL_HTTP_PERMANENT;
        }
        return o;
}

static int
looks_encoded(const char *key)
{
        const char *p = strchr(key, '%');

        return p != NULL && p[1] != '\0' && p[2] != '\0' &&
               strchr("0123456789ABCDEFabcdef", p[1]) != NULL &&
               strchr("0123456789ABCDEFabcdef", p[2]) != NULL;
}

static cl_err
build_url(char *buf, size_t size, const char *base, const char *path,
          const char *key, const struct cl_kpx_fuels *fuels, const char *date)
{
        char enc[1600];
        const char *k = key;
        cl_err rc;
        int n;

        /* The portal's "encoding" key is URL-encoded already; encoding it
         * again gives result code 30, so only a decoding key is encoded. */
        if (!looks_encoded(key)) {
                rc = cl_url_encode(key, enc, sizeof(enc));
                if (rc != CL_OK)
                        return cl_fail(rc, "KPX key: %s", cl_last_error());
                k = enc;
        }
        n = snprintf(buf, size,
                     "%s%s%s?serviceKey=%s&pageNo=1&numOfRows=%d&dataType=JSON"
                     "%s%s%s%s",
                     base, base[0] && base[strlen(base) - 1] == '/' ? "" : "/",
                     path, k, fuels->rows_per_day, date[0] ? "&" : "",
                     date[0] ? fuels->date_param : "", date[0] ? "=" : "",
                     date);
        if (n < 0 || (size_t)n >= size)
                return cl_fail(CL_EINVAL, "KPX URL longer than %zu bytes",
                               size - 1);
        return CL_OK;
}

/* Makes the day's request on one host; *outcome is its final outcome. */
static cl_err
call_host(struct cl_source_ctx *ctx, const struct cl_kpx_fuels *fuels,
          const char *base, const char *path, const char *date,
          struct kpx_classify_ctx *cc, struct cl_http_response *resp,
          enum cl_http_outcome *outcome)
{
        const char *secrets[] = {ctx->keys.kpx, NULL};
        struct cl_http_request req = {
            .db = ctx->db,
            .source = ctx->source,
            .secrets = secrets,
            .classify = kpx_classify,
            .classify_ctx = cc,
        };
        char url[2048];
        cl_err rc;

        rc = cl_source_may_call(ctx);
        if (rc != CL_OK)
                return rc;
        rc =
            build_url(url, sizeof(url), base, path, ctx->keys.kpx, fuels, date);
        if (rc != CL_OK)
                return rc;
        req.url = url;
        rc = cl_http_get(&ctx->http, &req, resp, outcome);
        ctx->summary->calls += resp->attempts;
        memset(url, 0, sizeof(url));
        return rc;
}

/* Asks the gateway, then the legacy host when the gateway stays down. */
static cl_err
call_day(struct cl_source_ctx *ctx, const struct cl_kpx_fuels *fuels,
         const char *date, struct kpx_classify_ctx *cc,
         struct cl_http_response *resp, enum cl_http_outcome *outcome,
         const char **host)
{
        const struct cl_intensity_config *cfg = ctx->cfg;
        const char *gateway = cfg->kpx_url ? cfg->kpx_url : KPX_DEFAULT_URL;
        const char *legacy =
            cfg->kpx_legacy_url ? cfg->kpx_legacy_url : KPX_DEFAULT_LEGACY_URL;
        cl_err rc;

        *host = "gateway";
        rc = call_host(ctx, fuels, gateway, fuels->operation, date, cc, resp,
                       outcome);
        if (rc != CL_OK || *outcome != CL_HTTP_TRANSIENT || legacy[0] == '\0' ||
            fuels->legacy_path[0] == '\0')
                return rc;
        cl_warn("kpx_fallback",
                "date=%s reason=\"gateway failed after %d attempts: %s\" "
                "next=legacy",
                date, resp->attempts, resp->message);
        cl_http_response_free(resp);
        *host = "legacy";
        return call_host(ctx, fuels, legacy, fuels->legacy_path, date, cc, resp,
                         outcome);
}

static void
kst_date(int64_t day_start_ns, char buf[9])
{
        int y, m, d;

        cl_civil_from_days((day_start_ns + CL_KST_OFFSET_NS) / CL_NS_PER_DAY,
                           &y, &m, &d);
        snprintf(buf, 9, "%04d%02d%02d", y % 10000, m, d);
}

static int64_t
kst_day_start(int64_t t_ns)
{
        return cl_next_kst_midnight_ns(t_ns) - CL_NS_PER_DAY;
}

/* Stores the response of one day; CL_ENET when it has nothing usable. */
static cl_err
handle_answer(struct cl_source_ctx *ctx, const struct cl_kpx_fuels *fuels,
              const char *date, int64_t from_ns, int64_t to_ns,
              struct kpx_classify_ctx *cc, const struct cl_http_response *resp,
              enum cl_http_outcome outcome, const char *host, int *stop)
{
        struct cl_source_batch batch = {0};
        char gap[128], when[32];
        int64_t until;
        cl_err rc = CL_OK;

        *stop = 0;
        switch (outcome) {
        case CL_HTTP_OK:
                rc = cl_kpx_hourly(&cc->answer, fuels, &batch);
                for (size_t i = 0; rc == CL_OK && i < batch.n; i++)
                        if (strcmp(host, "legacy") == 0) {
                                size_t len = strlen(batch.hours[i].detail);

                                snprintf(batch.hours[i].detail + len,
                                         sizeof(batch.hours[i].detail) - len,
                                         ", legacy host");
                        }
                snprintf(gap, sizeof(gap),
                         "no 5-minute sample for this hour in the %s answer",
                         host);
                if (rc == CL_OK)
                        rc = cl_source_store(ctx, from_ns, to_ns, &batch,
                                             CL_BASIS_GENERATION, resp->sha256,
                                             fuels->factor_set, gap, 1);
                if (cc->answer.n_bad_items > 0)
                        cl_warn("kpx_items_skipped",
                                "date=%s items=%zu reason=\"no valid "
                                "baseDatetime\"",
                                date, cc->answer.n_bad_items);
                break;
        case CL_HTTP_NO_DATA:
                snprintf(gap, sizeof(gap), "resultCode %s: no data (%s host)",
                         cc->answer.result_code, host);
                rc = cl_source_store(ctx, from_ns, to_ns, NULL,
                                     CL_BASIS_GENERATION, resp->sha256,
                                     fuels->factor_set, gap, 1);
                cl_warn("kpx_no_data", "date=%s result_code=%s stored=missing",
                        date, cc->answer.result_code);
                break;
        case CL_HTTP_QUOTA:
                until = cl_next_kst_midnight_ns(ctx->now_ns);
                cl_source_note(ctx,
                               "kpx: daily quota exceeded (resultCode 22); "
                               "no calls until %s KST",
                               cl_format_kst(until, when, sizeof(when)));
                rc = cl_source_block(ctx, cc->answer.result_code,
                                     ctx->summary->message, until);
                ctx->summary->quota_blocked = 1;
                cl_error("kpx_quota_exceeded", "date=%s blocked_until=%s", date,
                         cl_format_utc(until, when, sizeof(when)));
                *stop = 1;
                if (rc == CL_OK)
                        rc = cl_fail(CL_ENET, "%s", ctx->summary->message);
                break;
        case CL_HTTP_PERMANENT:
        case CL_HTTP_TRANSIENT:
        case CL_HTTP_INVALID:
                cl_source_note(ctx, "kpx %s: %s answer: %s after %d attempts",
                               date, cl_http_outcome_name(outcome),
                               resp->message, resp->attempts);
                cl_error("kpx_day_failed",
                         "date=%s host=%s outcome=%s attempts=%d "
                         "stored=nothing",
                         date, host, cl_http_outcome_name(outcome),
                         resp->attempts);
                /* A key or parameter error, or a service down, applies to
                 * every day: stop instead of spending more calls. */
                *stop = outcome != CL_HTTP_INVALID;
                rc = cl_fail(CL_ENET, "%s", ctx->summary->message);
                break;
        }
        cl_batch_free(&batch);
        return rc;
}

cl_err
cl_source_kpx_fetch(struct cl_source_ctx *ctx)
{
        struct kpx_classify_ctx cc = {0};
        struct cl_kpx_fuels fuels;
        cl_err rc, first = CL_OK;
        size_t i = 0;

        rc = cl_kpx_fuels_load(ctx->template_dir, NULL, ctx->cfg->factor_set,
                               &fuels);
        if (rc != CL_OK)
                return rc;
        if (ctx->keys.kpx[0] == '\0')
                return cl_fail(CL_EINVAL,
                               "kpx: no API key: set CARBONLEDGER_KPX_KEY or "
                               "give --key-file with CARBONLEDGER_KPX_KEY=...");
        cc.fuels = &fuels;
        while (i < ctx->n_needed) {
                struct cl_http_response resp = {0};
                enum cl_http_outcome outcome;
                int64_t day = kst_day_start(ctx->needed[i]);
                const char *host = "gateway";
                char date[9] = "";
                int stop = 0;

                while (i < ctx->n_needed &&
                       kst_day_start(ctx->needed[i]) == day)
                        i++;
                if (fuels.date_param[0] != '\0')
                        kst_date(day, date);
                rc = call_day(ctx, &fuels, date, &cc, &resp, &outcome, &host);
                if (rc == CL_OK)
                        rc = handle_answer(ctx, &fuels, date, day,
                                           day + CL_NS_PER_DAY, &cc, &resp,
                                           outcome, host, &stop);
                else
                        stop = 1;
                cl_http_response_free(&resp);
                cl_kpx_answer_free(&cc.answer);
                if (rc != CL_OK && first == CL_OK)
                        first = rc;
                /* Without a date parameter one call returns all there is. */
                if (stop || fuels.date_param[0] == '\0')
                        break;
        }
        if (first != CL_OK && ctx->summary->message[0] == '\0')
                cl_source_note(ctx, "%s", cl_last_error());
        if (first != CL_OK)
                return cl_fail(first, "%s", ctx->summary->message);
        return CL_OK;
}
