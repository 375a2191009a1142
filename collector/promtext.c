/*
 * The strict text-format parser (rules in promtext.h). Each line is
 * copied into a bounded buffer and split in place; label values are
 * unescaped into a second buffer. Series keys (name and sorted labels)
 * are collected in an arena and sorted at the end, so a duplicate is
 * found in O(n log n) whatever the order of the lines.
 */
#include "promtext.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest accepted line, in bytes. */
#define LINE_MAX_BYTES 65536

/* Metric families tracked for TYPE and HELP rules. */
struct family {
        char name[256];
        int has_type, has_help, has_samples;
};

struct key {
        size_t offset; /* into the arena */
        size_t line;
};

struct parser {
        char line[LINE_MAX_BYTES];
        char values[LINE_MAX_BYTES];
        struct cl_prom_label labels[CL_PROM_MAX_LABELS];
        struct family *families;
        size_t n_families, cap_families;
        char *arena;
        size_t arena_len, arena_cap;
        struct key *keys;
        size_t n_keys, cap_keys;
};

static int
is_name_start(char c, int colon)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
               (colon && c == ':');
}

static int
is_name_char(char c, int colon)
{
        return is_name_start(c, colon) || (c >= '0' && c <= '9');
}

/* Returns the end of a name at p, or p when there is none. */
static char *
scan_name(char *p, int colon)
{
        if (!is_name_start(*p, colon))
                return p;
        while (is_name_char(*p, colon))
                p++;
        return p;
}

static char *
skip_blank(char *p)
{
        while (*p == ' ' || *p == '\t')
                p++;
        return p;
}

static struct family *
family_of(struct parser *ps, const char *name)
{
        struct family *f;

        for (size_t i = 0; i < ps->n_families; i++)
                if (strcmp(ps->families[i].name, name) == 0)
                        return &ps->families[i];
        if (ps->n_families == ps->cap_families) {
                size_t ncap = ps->cap_families ? ps->cap_families * 2 : 16;
                void *grown =
                    realloc(ps->families, ncap * sizeof(*ps->families));

                if (grown == NULL)
                        return NULL;
                ps->families = grown;
                ps->cap_families = ncap;
        }
        f = &ps->families[ps->n_families++];
        memset(f, 0, sizeof(*f));
        snprintf(f->name, sizeof(f->name), "%s", name);
        return f;
}

static cl_err
parse_comment(struct parser *ps, char *p, size_t line)
{
        static const char *const types[] = {"counter", "gauge", "histogram",
                                            "summary", "untyped"};
        int is_type, known = 0;
        char *name, *end;
        struct family *f;

        p = skip_blank(p + 1);
        is_type = strncmp(p, "TYPE", 4) == 0 && (p[4] == ' ' || p[4] == '\t');
        if (!is_type &&
            !(strncmp(p, "HELP", 4) == 0 && (p[4] == ' ' || p[4] == '\t')))
                return CL_OK; /* a plain comment */
        name = skip_blank(p + 4);
        end = scan_name(name, 1);
        if (end == name || (*end != '\0' && *end != ' ' && *end != '\t'))
                return cl_fail(CL_EFORMAT,
                               "line %zu: invalid metric name in "
                               "%s comment",
                               line, is_type ? "TYPE" : "HELP");
        if ((size_t)(end - name) >= sizeof(f->name))
                return cl_fail(CL_EFORMAT, "line %zu: metric name too long",
                               line);
        p = *end != '\0' ? skip_blank(end + 1) : end;
        *end = '\0';
        f = family_of(ps, name);
        if (f == NULL)
                return cl_fail(CL_ENOMEM, "metric families");
        if (!is_type) {
                if (f->has_help)
                        return cl_fail(CL_EFORMAT,
                                       "line %zu: second HELP for %s", line,
                                       name);
                f->has_help = 1;
                return CL_OK;
        }
        if (f->has_type)
                return cl_fail(CL_EFORMAT, "line %zu: second TYPE for %s", line,
                               name);
        if (f->has_samples)
                return cl_fail(CL_EFORMAT,
                               "line %zu: TYPE for %s after its samples", line,
                               name);
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
                size_t n = strlen(types[i]);

                if (strncmp(p, types[i], n) == 0 && *skip_blank(p + n) == '\0')
                        known = 1;
        }
        if (!known)
                return cl_fail(CL_EFORMAT, "line %zu: unknown type '%.40s'",
                               line, p);
        f->has_type = 1;
        return CL_OK;
}

/* Parses a label value at p (after the opening quote) into *out. */
static char *
parse_label_value(char *p, char **out_cursor, size_t line, cl_err *rc)
{
        char *o = *out_cursor;

        for (;;) {
                if (*p == '\0') {
                        *rc =
                            cl_fail(CL_EFORMAT,
                                    "line %zu: unterminated label value", line);
                        return NULL;
                }
                if (*p == '"')
                        break;
                if (*p == '\\') {
                        p++;
                        if (*p == '\\' || *p == '"')
                                *o++ = *p;
                        else if (*p == 'n')
                                *o++ = '\n';
                        else {
                                *rc = cl_fail(CL_EFORMAT,
                                              "line %zu: invalid escape '\\%c' "
                                              "in a label value",
                                              line, *p != '\0' ? *p : '0');
                                return NULL;
                        }
                        p++;
                        continue;
                }
                *o++ = *p++;
        }
        *o++ = '\0';
        *out_cursor = o;
        return p + 1;
}

static char *
parse_labels(struct parser *ps, char *p, size_t *n, size_t line, cl_err *rc)
{
        char *values = ps->values;

        *n = 0;
        p = skip_blank(p + 1);
        while (*p != '}') {
                char *name = p, *end = scan_name(p, 0);

                if (end == name) {
                        *rc = cl_fail(CL_EFORMAT,
                                      "line %zu: invalid label name", line);
                        return NULL;
                }
                p = skip_blank(end);
                if (*p != '=') {
                        *rc = cl_fail(CL_EFORMAT,
                                      "line %zu: expected '=' after a label "
                                      "name",
                                      line);
                        return NULL;
                }
                *end = '\0';
                p = skip_blank(p + 1);
                if (*p != '"') {
                        *rc = cl_fail(CL_EFORMAT,
                                      "line %zu: label value must be quoted",
                                      line);
                        return NULL;
                }
                if (*n == CL_PROM_MAX_LABELS) {
                        *rc =
                            cl_fail(CL_EFORMAT, "line %zu: more than %d labels",
                                    line, CL_PROM_MAX_LABELS);
                        return NULL;
                }
                for (size_t i = 0; i < *n; i++)
                        if (strcmp(ps->labels[i].name, name) == 0) {
                                *rc = cl_fail(CL_EFORMAT,
                                              "line %zu: label %s repeated",
                                              line, name);
                                return NULL;
                        }
                ps->labels[*n].name = name;
                ps->labels[*n].value = values;
                p = parse_label_value(p + 1, &values, line, rc);
                if (p == NULL)
                        return NULL;
                (*n)++;
                p = skip_blank(p);
                if (*p == ',')
                        p = skip_blank(p + 1);
                else if (*p != '}') {
                        *rc = cl_fail(CL_EFORMAT,
                                      "line %zu: expected ',' or '}' after a "
                                      "label",
                                      line);
                        return NULL;
                }
        }
        return p + 1;
}

static int
parse_value(const char *text, double *out)
{
        char *end;

        if (strcmp(text, "NaN") == 0) {
                *out = NAN;
                return 0;
        }
        if (strcmp(text, "+Inf") == 0 || strcmp(text, "Inf") == 0) {
                *out = INFINITY;
                return 0;
        }
        if (strcmp(text, "-Inf") == 0) {
                *out = -INFINITY;
                return 0;
        }
        /* strtod also takes hex floats and "nan(...)": reject them. */
        for (const char *c = text; *c != '\0'; c++)
                if (!((*c >= '0' && *c <= '9') || *c == '.' || *c == 'e' ||
                      *c == 'E' || *c == '+' || *c == '-'))
                        return -1;
        errno = 0;
        *out = strtod(text, &end);
        return end == text || *end != '\0' || errno == ERANGE ? -1 : 0;
}

static int
parse_timestamp(const char *text, int64_t *out)
{
        char *end;
        long long v;

        errno = 0;
        v = strtoll(text, &end, 10);
        if (end == text || *end != '\0' || errno != 0)
                return -1;
        *out = v;
        return 0;
}

static int
compare_label(const void *a, const void *b)
{
        const struct cl_prom_label *la = a, *lb = b;

        return strcmp(la->name, lb->name);
}

/* Appends the series key "name\x01l=v\x01..." to the arena. */
static cl_err
add_key(struct parser *ps, const struct cl_prom_sample *s)
{
        struct cl_prom_label sorted[CL_PROM_MAX_LABELS];
        size_t need = strlen(s->name) + 2;

        memcpy(sorted, s->labels, s->n_labels * sizeof(sorted[0]));
        qsort(sorted, s->n_labels, sizeof(sorted[0]), compare_label);
        for (size_t i = 0; i < s->n_labels; i++)
                need += strlen(sorted[i].name) + strlen(sorted[i].value) + 2;
        if (ps->arena_len + need > ps->arena_cap) {
                size_t ncap = (ps->arena_cap + need) * 2;
                char *grown = realloc(ps->arena, ncap);

                if (grown == NULL)
                        return cl_fail(CL_ENOMEM, "series keys");
                ps->arena = grown;
                ps->arena_cap = ncap;
        }
        if (ps->n_keys == ps->cap_keys) {
                size_t ncap = ps->cap_keys ? ps->cap_keys * 2 : 256;
                void *grown = realloc(ps->keys, ncap * sizeof(*ps->keys));

                if (grown == NULL)
                        return cl_fail(CL_ENOMEM, "series keys");
                ps->keys = grown;
                ps->cap_keys = ncap;
        }
        ps->keys[ps->n_keys].offset = ps->arena_len;
        ps->keys[ps->n_keys].line = s->line;
        ps->n_keys++;
        {
                char *o = ps->arena + ps->arena_len;
                size_t n = strlen(s->name);

                memcpy(o, s->name, n);
                o += n;
                *o++ = '\x01';
                for (size_t i = 0; i < s->n_labels; i++) {
                        n = strlen(sorted[i].name);
                        memcpy(o, sorted[i].name, n);
                        o += n;
                        *o++ = '=';
                        n = strlen(sorted[i].value);
                        memcpy(o, sorted[i].value, n);
                        o += n;
                        *o++ = '\x01';
                }
                *o++ = '\0';
                ps->arena_len = (size_t)(o - ps->arena);
        }
        return CL_OK;
}

static cl_err
parse_sample(struct parser *ps, char *p, size_t line, cl_prom_sample_fn fn,
             void *ctx)
{
        struct cl_prom_sample s;
        char *end = scan_name(p, 1), *value, *stamp;
        struct family *f;
        char saved;
        cl_err rc = CL_OK;

        memset(&s, 0, sizeof(s));
        s.line = line;
        if (end == p)
                return cl_fail(CL_EFORMAT, "line %zu: invalid metric name",
                               line);
        saved = *end;
        *end = '\0';
        s.name = p;
        if ((size_t)(end - p) >= sizeof(f->name))
                return cl_fail(CL_EFORMAT, "line %zu: metric name too long",
                               line);
        f = family_of(ps, p);
        if (f == NULL)
                return cl_fail(CL_ENOMEM, "metric families");
        f->has_samples = 1;
        *end = saved;
        p = skip_blank(end);
        if (*p == '{') {
                *end = '\0';
                p = parse_labels(ps, p, &s.n_labels, line, &rc);
                if (p == NULL)
                        return rc;
                if (*p != ' ' && *p != '\t')
                        return cl_fail(CL_EFORMAT,
                                       "line %zu: expected a space before "
                                       "the value",
                                       line);
        } else if (p == end) {
                return cl_fail(CL_EFORMAT,
                               "line %zu: expected labels or a space after "
                               "the metric name",
                               line);
        }
        *end = '\0';
        s.labels = ps->labels;
        value = skip_blank(p);
        p = value;
        while (*p != '\0' && *p != ' ' && *p != '\t')
                p++;
        stamp = skip_blank(p);
        *p = '\0';
        if (*value == '\0' || parse_value(value, &s.value) != 0)
                return cl_fail(CL_EFORMAT, "line %zu: invalid value '%.40s'",
                               line, value);
        if (*stamp != '\0') {
                p = stamp;
                while (*p != '\0' && *p != ' ' && *p != '\t')
                        p++;
                if (*skip_blank(p) != '\0')
                        return cl_fail(CL_EFORMAT,
                                       "line %zu: text after the timestamp",
                                       line);
                *p = '\0';
                if (parse_timestamp(stamp, &s.timestamp_ms) != 0)
                        return cl_fail(CL_EFORMAT,
                                       "line %zu: invalid timestamp '%.40s'",
                                       line, stamp);
                s.has_timestamp = 1;
        }
        rc = add_key(ps, &s);
        if (rc != CL_OK)
                return rc;
        return fn(&s, ctx);
}

/* A series key resolved to its text once the arena stops moving. */
struct key_text {
        const char *text;
        size_t line;
};

static int
compare_key(const void *a, const void *b)
{
        const struct key_text *ka = a, *kb = b;
        int c = strcmp(ka->text, kb->text);

        if (c != 0)
                return c;
        return ka->line < kb->line ? -1 : ka->line > kb->line;
}

static cl_err
check_duplicates(struct parser *ps)
{
        struct key_text *keys = calloc(ps->n_keys + 1, sizeof(*keys));
        cl_err rc = CL_OK;

        if (keys == NULL)
                return cl_fail(CL_ENOMEM, "series keys");
        for (size_t i = 0; i < ps->n_keys; i++) {
                keys[i].text = ps->arena + ps->keys[i].offset;
                keys[i].line = ps->keys[i].line;
        }
        qsort(keys, ps->n_keys, sizeof(*keys), compare_key);
        for (size_t i = 1; i < ps->n_keys; i++)
                if (strcmp(keys[i].text, keys[i - 1].text) == 0) {
                        rc = cl_fail(CL_EFORMAT,
                                     "line %zu: duplicate series (first at "
                                     "line %zu)",
                                     keys[i].line, keys[i - 1].line);
                        break;
                }
        free(keys);
        return rc;
}

cl_err
cl_prom_parse(const char *text, size_t len, cl_prom_sample_fn fn, void *ctx)
{
        struct parser *ps = calloc(1, sizeof(*ps));
        size_t pos = 0, line = 0;
        cl_err rc = CL_OK;

        if (ps == NULL)
                return cl_fail(CL_ENOMEM, "metrics parser");
        while (rc == CL_OK && pos < len) {
                const char *nl = memchr(text + pos, '\n', len - pos);
                size_t n = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
                char *p;

                line++;
                if (n >= sizeof(ps->line)) {
                        rc = cl_fail(CL_EFORMAT,
                                     "line %zu: longer than %d bytes", line,
                                     LINE_MAX_BYTES - 1);
                        break;
                }
                memcpy(ps->line, text + pos, n);
                ps->line[n] = '\0';
                pos += n + 1;
                if (memchr(ps->line, '\0', n) != NULL) {
                        rc = cl_fail(CL_EFORMAT, "line %zu: NUL byte", line);
                        break;
                }
                if (n > 0 && ps->line[n - 1] == '\r') {
                        rc = cl_fail(CL_EFORMAT,
                                     "line %zu: carriage return (lines end "
                                     "with \\n only)",
                                     line);
                        break;
                }
                p = skip_blank(ps->line);
                if (*p == '\0')
                        continue;
                if (*p == '#')
                        rc = parse_comment(ps, p, line);
                else
                        rc = parse_sample(ps, p, line, fn, ctx);
        }
        if (rc == CL_OK)
                rc = check_duplicates(ps);
        free(ps->families);
        free(ps->arena);
        free(ps->keys);
        free(ps);
        return rc;
}

const char *
cl_prom_label(const struct cl_prom_sample *s, const char *name)
{
        for (size_t i = 0; i < s->n_labels; i++)
                if (strcmp(s->labels[i].name, name) == 0)
                        return s->labels[i].value;
        return NULL;
}
