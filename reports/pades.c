/*
 * PAdES signing of a PDF as libharu writes it (one classic cross-reference
 * table, a trailer with /Root, /Info and /Size, no object streams), by an
 * incremental update appended after the original %%EOF. The original bytes
 * are never changed, and the update reads:
 *
 *     C g obj <<catalog keys except /AcroForm, /AcroForm <</Fields [W 0 R]
 *              /SigFlags 3>>>> endobj         new version of the catalog
 *     P g obj <<page keys except /Annots, /Annots [old... W 0 R]>> endobj
 *     W 0 obj <</Type /Annot /Subtype /Widget /FT /Sig ... /V S 0 R>> endobj
 *     S 0 obj <</Type /Sig ... /ByteRange [0 a b c] ... /Contents <hex>>>
 *              endobj                         the signature dictionary
 *     xref, one subsection per run of object numbers, 20-byte entries
 *     trailer <<old keys, /Size, /Prev, /ID>> startxref %%EOF
 *
 * W and S are the old /Size and /Size + 1, and P is the first page. The
 * /ByteRange covers the whole output except the /Contents hex string
 * (from its '<' to its '>'): a is the offset of '<', b the offset after
 * '>', c the bytes from b to the end. The CMS is computed over those two
 * ranges and its hex written into the reserved gap, padded with zeros.
 *
 * The parser reads only what it needs: the xref chain, the trailer, the
 * catalog and the page tree down to the first page. Every read is bounded
 * by the file's length, nesting by PDF_MAX_DEPTH, and a malformed file
 * fails with CL_EFORMAT naming the file, the problem and the offset.
 */
#include "cms_internal.h"
#include "fsutil.h"
#include "sign.h"
#include "timeutil.h"

#include <openssl/evp.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Largest input PDF, in bytes. Signing keeps it in memory twice. */
#define PDF_MAX_BYTES ((size_t)512 << 20)
/* Largest /Size accepted, which bounds the xref table allocation. */
#define PDF_MAX_OBJECTS ((int64_t)1 << 23)
/* Maximum nesting of arrays and dictionaries, and of the page tree. */
#define PDF_MAX_DEPTH 32
/* Maximum length of the /Prev chain of cross-reference sections. */
#define PDF_MAX_XREF_SECTIONS 64
/* startxref must sit within this many bytes of the end of the file. */
#define PDF_TAIL_BYTES 1024
/* Maximum UTF-8 length of /Name, /Reason and /Location, in bytes. */
#define SIG_TEXT_MAX 1024
/* Minimum space reserved for the CMS in /Contents, in bytes. */
#define SIG_RESERVE_MIN 8192
/* Width of the /ByteRange array: "[0 " and three 10-digit numbers. */
#define BYTE_RANGE_WIDTH 36

enum tok_kind {
        TOK_EOF,
        TOK_DICT_OPEN,
        TOK_DICT_CLOSE,
        TOK_ARRAY_OPEN,
        TOK_ARRAY_CLOSE,
        TOK_NAME,
        TOK_NUMBER,
        TOK_STRING,
        TOK_HEX,
        TOK_KEYWORD,
};

struct tok {
        enum tok_kind kind;
        size_t start, end; /* byte span in the file */
        int is_int;        /* TOK_NUMBER without a fraction */
        int64_t ival;      /* value of an integer */
};

enum val_kind {
        VAL_SCALAR, /* true, false, null, a real number */
        VAL_NAME,
        VAL_INT,
        VAL_STRING, /* literal or hexadecimal */
        VAL_REF,
        VAL_ARRAY,
        VAL_DICT,
};

/* A parsed object, kept as its byte span in the file. */
struct val {
        enum val_kind kind;
        size_t start, end;
        int64_t num; /* VAL_INT value, or VAL_REF object number */
        int64_t gen; /* VAL_REF generation */
};

struct xref_entry {
        uint64_t offset;
        uint32_t gen;
        unsigned char state; /* 0: not yet seen, 1: in use, 2: free */
};

struct pdf {
        const char *path;
        const char *buf;
        size_t len;
        struct xref_entry *xref;
        size_t nobj; /* the newest trailer's /Size */
};

/* A growing output buffer that records the first failure. */
struct sbuf {
        char *p;
        size_t len, cap;
        int failed;
};

static cl_err
pdf_fail(const struct pdf *doc, size_t offset, const char *what)
{
        return cl_fail(CL_EFORMAT, "%s: %s at byte offset %zu", doc->path, what,
                       offset);
}

static int
is_ws(unsigned char c)
{
        return c == 0 || c == '\t' || c == '\n' || c == '\f' || c == '\r' ||
               c == ' ';
}

static int
is_delim(unsigned char c)
{
        return c == '(' || c == ')' || c == '<' || c == '>' || c == '[' ||
               c == ']' || c == '{' || c == '}' || c == '/' || c == '%';
}

static int
is_hex(unsigned char c)
{
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
               (c >= 'A' && c <= 'F');
}

static int
hex_value(unsigned char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return c - 'A' + 10;
}

static size_t
skip_ws(const struct pdf *doc, size_t pos)
{
        while (pos < doc->len) {
                unsigned char c = (unsigned char)doc->buf[pos];

                if (c == '%') {
                        while (pos < doc->len && doc->buf[pos] != '\n' &&
                               doc->buf[pos] != '\r')
                                pos++;
                } else if (is_ws(c)) {
                        pos++;
                } else {
                        break;
                }
        }
        return pos;
}

/* Scans a literal string from the '(' at pos; *end is after its ')'. */
static cl_err
scan_literal(const struct pdf *doc, size_t pos, size_t *end)
{
        size_t start = pos, depth = 0;

        while (pos < doc->len) {
                char c = doc->buf[pos++];

                if (c == '\\') {
                        pos++;
                } else if (c == '(') {
                        depth++;
                } else if (c == ')') {
                        if (--depth == 0) {
                                *end = pos;
                                return CL_OK;
                        }
                }
        }
        return pdf_fail(doc, start, "unterminated string");
}

/* Parses the regular characters in [start, end) as a number, if they are. */
static void
classify_number(const struct pdf *doc, struct tok *t)
{
        size_t i = t->start, digits = 0;
        int negative = 0, dots = 0;
        int64_t v = 0;

        if (doc->buf[i] == '+' || doc->buf[i] == '-')
                negative = doc->buf[i++] == '-';
        for (; i < t->end; i++) {
                char c = doc->buf[i];

                if (c == '.') {
                        dots++;
                } else if (c >= '0' && c <= '9') {
                        digits++;
                        /* 18 digits keep v far from INT64_MAX. */
                        if (dots == 0 && digits <= 18)
                                v = v * 10 + (c - '0');
                } else {
                        return;
                }
        }
        if (digits == 0 || dots > 1)
                return;
        t->kind = TOK_NUMBER;
        t->is_int = dots == 0 && digits <= 18;
        t->ival = negative ? -v : v;
}

static cl_err
next_tok(const struct pdf *doc, size_t *pos, struct tok *t)
{
        size_t p = skip_ws(doc, *pos);
        unsigned char c;
        cl_err rc = CL_OK;

        memset(t, 0, sizeof(*t));
        t->start = p;
        if (p >= doc->len) {
                t->kind = TOK_EOF;
                t->end = p;
                *pos = p;
                return CL_OK;
        }
        c = (unsigned char)doc->buf[p];
        if (c == '<' && p + 1 < doc->len && doc->buf[p + 1] == '<') {
                t->kind = TOK_DICT_OPEN;
                p += 2;
        } else if (c == '>' && p + 1 < doc->len && doc->buf[p + 1] == '>') {
                t->kind = TOK_DICT_CLOSE;
                p += 2;
        } else if (c == '<') {
                t->kind = TOK_HEX;
                p++;
                while (p < doc->len && (is_hex((unsigned char)doc->buf[p]) ||
                                        is_ws((unsigned char)doc->buf[p])))
                        p++;
                if (p >= doc->len || doc->buf[p] != '>')
                        return pdf_fail(doc, t->start,
                                        "invalid hexadecimal string");
                p++;
        } else if (c == '[' || c == ']') {
                t->kind = c == '[' ? TOK_ARRAY_OPEN : TOK_ARRAY_CLOSE;
                p++;
        } else if (c == '(') {
                t->kind = TOK_STRING;
                rc = scan_literal(doc, p, &p);
        } else if (c == '/') {
                t->kind = TOK_NAME;
                p++;
                while (p < doc->len && !is_ws((unsigned char)doc->buf[p]) &&
                       !is_delim((unsigned char)doc->buf[p]))
                        p++;
        } else if (is_delim(c)) {
                return pdf_fail(doc, p, "unexpected delimiter");
        } else {
                t->kind = TOK_KEYWORD;
                while (p < doc->len && !is_ws((unsigned char)doc->buf[p]) &&
                       !is_delim((unsigned char)doc->buf[p]))
                        p++;
                t->end = p;
                classify_number(doc, t);
        }
        t->end = p;
        *pos = p;
        return rc;
}

static int
tok_is_keyword(const struct pdf *doc, const struct tok *t, const char *word)
{
        size_t n = strlen(word);

        return t->kind == TOK_KEYWORD && t->end - t->start == n &&
               memcmp(doc->buf + t->start, word, n) == 0;
}

/* Compares a name token with name (without the slash), decoding #hh. */
static int
name_equals(const struct pdf *doc, size_t start, size_t end, const char *name)
{
        size_t i = start + 1;

        for (; i < end; i++, name++) {
                unsigned char c = (unsigned char)doc->buf[i];

                if (c == '#' && i + 2 < end &&
                    is_hex((unsigned char)doc->buf[i + 1]) &&
                    is_hex((unsigned char)doc->buf[i + 2])) {
                        c = (unsigned char)(hex_value((unsigned char)
                                                          doc->buf[i + 1]) *
                                                16 +
                                            hex_value((unsigned char)
                                                          doc->buf[i + 2]));
                        i += 2;
                }
                if (*name == '\0' || (unsigned char)*name != c)
                        return 0;
        }
        return *name == '\0';
}

static cl_err parse_value(const struct pdf *doc, size_t *pos, int depth,
                          struct val *v);

static cl_err
parse_container(const struct pdf *doc, size_t *pos, int depth,
                enum tok_kind close, struct val *v)
{
        struct val item;
        struct tok t;
        cl_err rc;

        if (depth >= PDF_MAX_DEPTH)
                return pdf_fail(doc, v->start, "objects nested too deeply");
        for (;;) {
                size_t before = *pos;

                rc = next_tok(doc, pos, &t);
                if (rc != CL_OK)
                        return rc;
                if (t.kind == close)
                        break;
                if (t.kind == TOK_EOF)
                        return pdf_fail(doc, v->start,
                                        close == TOK_DICT_CLOSE
                                            ? "unterminated dictionary"
                                            : "unterminated array");
                if (close == TOK_DICT_CLOSE) {
                        if (t.kind != TOK_NAME)
                                return pdf_fail(doc, t.start,
                                                "dictionary key is not a "
                                                "name");
                } else {
                        *pos = before;
                }
                rc = parse_value(doc, pos, depth + 1, &item);
                if (rc != CL_OK)
                        return rc;
        }
        v->end = *pos;
        return CL_OK;
}

/*
 * Parses one object at *pos and moves *pos after it. "n g R" becomes a
 * VAL_REF, so an integer is followed by a look-ahead of two tokens.
 */
static cl_err
parse_value(const struct pdf *doc, size_t *pos, int depth, struct val *v)
{
        struct tok t, t2, t3;
        size_t after;
        cl_err rc;

        rc = next_tok(doc, pos, &t);
        if (rc != CL_OK)
                return rc;
        memset(v, 0, sizeof(*v));
        v->start = t.start;
        v->end = t.end;
        switch (t.kind) {
        case TOK_DICT_OPEN:
                v->kind = VAL_DICT;
                return parse_container(doc, pos, depth, TOK_DICT_CLOSE, v);
        case TOK_ARRAY_OPEN:
                v->kind = VAL_ARRAY;
                return parse_container(doc, pos, depth, TOK_ARRAY_CLOSE, v);
        case TOK_NAME:
                v->kind = VAL_NAME;
                return CL_OK;
        case TOK_STRING:
        case TOK_HEX:
                v->kind = VAL_STRING;
                return CL_OK;
        case TOK_NUMBER:
                v->kind = t.is_int ? VAL_INT : VAL_SCALAR;
                v->num = t.ival;
                if (!t.is_int || t.ival < 0)
                        return CL_OK;
                after = *pos;
                if (next_tok(doc, &after, &t2) == CL_OK &&
                    t2.kind == TOK_NUMBER && t2.is_int && t2.ival >= 0 &&
                    t2.ival <= 65535 && next_tok(doc, &after, &t3) == CL_OK &&
                    tok_is_keyword(doc, &t3, "R")) {
                        v->kind = VAL_REF;
                        v->gen = t2.ival;
                        v->end = t3.end;
                        *pos = after;
                }
                cl_clear_error();
                return CL_OK;
        case TOK_KEYWORD:
                if (tok_is_keyword(doc, &t, "true") ||
                    tok_is_keyword(doc, &t, "false") ||
                    tok_is_keyword(doc, &t, "null")) {
                        v->kind = VAL_SCALAR;
                        return CL_OK;
                }
                return pdf_fail(doc, t.start, "unexpected keyword");
        case TOK_EOF:
                return pdf_fail(doc, t.start, "unexpected end of file");
        default:
                return pdf_fail(doc, t.start, "unexpected token");
        }
}

/*
 * Looks key up in the dictionary dict. *found is 0 when the key is absent;
 * then *out is untouched.
 */
static cl_err
dict_get(const struct pdf *doc, const struct val *dict, const char *key,
         struct val *out, int *found)
{
        size_t pos = dict->start;
        struct val v;
        struct tok t;
        cl_err rc;

        *found = 0;
        rc = next_tok(doc, &pos, &t);
        if (rc != CL_OK)
                return rc;
        for (;;) {
                rc = next_tok(doc, &pos, &t);
                if (rc != CL_OK)
                        return rc;
                if (t.kind != TOK_NAME)
                        return CL_OK; /* ">>", checked by parse_value */
                rc = parse_value(doc, &pos, 1, &v);
                if (rc != CL_OK)
                        return rc;
                if (name_equals(doc, t.start, t.end, key)) {
                        *out = v;
                        *found = 1;
                        return CL_OK;
                }
        }
}

/* Parses the indirect object num gen at the offset the xref gives. */
static cl_err
load_object(const struct pdf *doc, int64_t num, int64_t gen, struct val *out)
{
        const struct xref_entry *e;
        struct tok t1, t2, t3;
        char what[96];
        size_t pos;
        cl_err rc;

        if (num < 0 || (uint64_t)num >= doc->nobj ||
            doc->xref[num].state != 1) {
                snprintf(what, sizeof(what),
                         "object %" PRId64 " is not in the cross-reference "
                         "table",
                         num);
                return pdf_fail(doc, 0, what);
        }
        e = &doc->xref[num];
        if (e->offset >= doc->len || e->gen != gen) {
                snprintf(what, sizeof(what),
                         "cross-reference entry of object %" PRId64
                         " is invalid",
                         num);
                return pdf_fail(doc, 0, what);
        }
        pos = (size_t)e->offset;
        rc = next_tok(doc, &pos, &t1);
        if (rc == CL_OK)
                rc = next_tok(doc, &pos, &t2);
        if (rc == CL_OK)
                rc = next_tok(doc, &pos, &t3);
        if (rc != CL_OK)
                return rc;
        if (t1.kind != TOK_NUMBER || !t1.is_int || t1.ival != num ||
            t2.kind != TOK_NUMBER || !t2.is_int || t2.ival != gen ||
            !tok_is_keyword(doc, &t3, "obj")) {
                snprintf(what, sizeof(what),
                         "object %" PRId64 " not found at its "
                         "cross-reference offset",
                         num);
                return pdf_fail(doc, (size_t)e->offset, what);
        }
        return parse_value(doc, &pos, 0, out);
}

/* Replaces a VAL_REF by the object it points to. */
static cl_err
resolve(const struct pdf *doc, const struct val *in, struct val *out)
{
        if (in->kind != VAL_REF) {
                *out = *in;
                return CL_OK;
        }
        return load_object(doc, in->num, in->gen, out);
}

/*
 * Reads the xref section at offset and its trailer dictionary. With fill,
 * records entries not yet seen in a newer section.
 */
static cl_err
read_xref_section(struct pdf *doc, size_t offset, int fill, struct val *trailer)
{
        size_t pos = offset;
        struct tok t, t2, t3;
        int64_t first, count, i;
        cl_err rc;

        if (offset >= doc->len)
                return pdf_fail(doc, offset,
                                "cross-reference offset beyond the end of "
                                "the file");
        rc = next_tok(doc, &pos, &t);
        if (rc != CL_OK)
                return rc;
        if (t.kind == TOK_NUMBER)
                return pdf_fail(doc, offset,
                                "cross-reference stream found; only a "
                                "classic xref table is supported");
        if (!tok_is_keyword(doc, &t, "xref"))
                return pdf_fail(doc, offset, "no xref keyword");
        for (;;) {
                rc = next_tok(doc, &pos, &t);
                if (rc != CL_OK)
                        return rc;
                if (tok_is_keyword(doc, &t, "trailer"))
                        break;
                rc = next_tok(doc, &pos, &t2);
                if (rc != CL_OK)
                        return rc;
                if (t.kind != TOK_NUMBER || !t.is_int || t.ival < 0 ||
                    t2.kind != TOK_NUMBER || !t2.is_int || t2.ival < 0 ||
                    t.ival > PDF_MAX_OBJECTS || t2.ival > PDF_MAX_OBJECTS)
                        return pdf_fail(doc, t.start,
                                        "invalid xref subsection header");
                first = t.ival;
                count = t2.ival;
                for (i = 0; i < count; i++) {
                        rc = next_tok(doc, &pos, &t);
                        if (rc == CL_OK)
                                rc = next_tok(doc, &pos, &t2);
                        if (rc == CL_OK)
                                rc = next_tok(doc, &pos, &t3);
                        if (rc != CL_OK)
                                return rc;
                        if (t.kind != TOK_NUMBER || !t.is_int || t.ival < 0 ||
                            t2.kind != TOK_NUMBER || !t2.is_int ||
                            t2.ival < 0 || t2.ival > 65535 ||
                            (!tok_is_keyword(doc, &t3, "n") &&
                             !tok_is_keyword(doc, &t3, "f")))
                                return pdf_fail(doc, t.start,
                                                "invalid xref entry");
                        if (!fill)
                                continue;
                        if ((uint64_t)(first + i) >= doc->nobj)
                                return pdf_fail(doc, t.start,
                                                "xref entry beyond the "
                                                "trailer's /Size");
                        if (doc->xref[first + i].state != 0)
                                continue;
                        doc->xref[first + i].offset = (uint64_t)t.ival;
                        doc->xref[first + i].gen = (uint32_t)t2.ival;
                        doc->xref[first + i].state =
                            tok_is_keyword(doc, &t3, "n") ? 1 : 2;
                }
        }
        rc = parse_value(doc, &pos, 0, trailer);
        if (rc != CL_OK)
                return rc;
        if (trailer->kind != VAL_DICT)
                return pdf_fail(doc, trailer->start,
                                "trailer is not a dictionary");
        return CL_OK;
}

/* Finds the offset that the last startxref gives. */
static cl_err
find_startxref(const struct pdf *doc, size_t *offset)
{
        static const char key[] = "startxref";
        size_t klen = sizeof(key) - 1, i, pos;
        size_t low = doc->len > PDF_TAIL_BYTES ? doc->len - PDF_TAIL_BYTES : 0;
        struct tok t;
        cl_err rc;

        if (doc->len < klen)
                return pdf_fail(doc, 0, "file too short for a PDF");
        for (i = doc->len - klen + 1; i-- > low;) {
                if (memcmp(doc->buf + i, key, klen) != 0)
                        continue;
                pos = i + klen;
                rc = next_tok(doc, &pos, &t);
                if (rc != CL_OK)
                        return rc;
                if (t.kind != TOK_NUMBER || !t.is_int || t.ival < 0 ||
                    (uint64_t)t.ival >= doc->len)
                        return pdf_fail(doc, t.start,
                                        "invalid startxref offset");
                *offset = (size_t)t.ival;
                while (pos < doc->len && is_ws((unsigned char)doc->buf[pos]))
                        pos++;
                if (doc->len - pos < 5 || memcmp(doc->buf + pos, "%%EOF", 5))
                        return pdf_fail(doc, pos, "no %%EOF after startxref");
                return CL_OK;
        }
        return pdf_fail(doc, low,
                        "no startxref in the last 1024 bytes (truncated "
                        "file?)");
}

/*
 * Reads the chain of xref sections from startxref. *trailer is the newest
 * trailer, whose /Size sizes doc->xref.
 */
static cl_err
read_xref(struct pdf *doc, struct val *trailer)
{
        size_t seen[PDF_MAX_XREF_SECTIONS], nseen = 0, offset, i;
        struct val v, prev;
        int found;
        cl_err rc;

        rc = find_startxref(doc, &offset);
        if (rc != CL_OK)
                return rc;
        rc = read_xref_section(doc, offset, 0, trailer);
        if (rc != CL_OK)
                return rc;
        rc = dict_get(doc, trailer, "Size", &v, &found);
        if (rc != CL_OK)
                return rc;
        if (!found || v.kind != VAL_INT || v.num < 1 || v.num > PDF_MAX_OBJECTS)
                return pdf_fail(doc, trailer->start,
                                "trailer /Size missing or invalid");
        doc->nobj = (size_t)v.num;
        doc->xref = calloc(doc->nobj, sizeof(*doc->xref));
        if (doc->xref == NULL)
                return cl_fail(CL_ENOMEM, "%s: xref table: out of memory",
                               doc->path);
        for (;;) {
                for (i = 0; i < nseen; i++)
                        if (seen[i] == offset)
                                return pdf_fail(doc, offset,
                                                "loop in the /Prev chain");
                if (nseen == PDF_MAX_XREF_SECTIONS)
                        return pdf_fail(doc, offset,
                                        "more than 64 xref sections");
                seen[nseen++] = offset;
                rc = read_xref_section(doc, offset, 1, &v);
                if (rc != CL_OK)
                        return rc;
                rc = dict_get(doc, &v, "Prev", &prev, &found);
                if (rc != CL_OK)
                        return rc;
                if (!found)
                        return CL_OK;
                if (prev.kind != VAL_INT || prev.num < 0 ||
                    (uint64_t)prev.num >= doc->len)
                        return pdf_fail(doc, prev.start, "invalid /Prev");
                offset = (size_t)prev.num;
        }
}

static void
sb_append(struct sbuf *sb, const void *data, size_t n)
{
        if (sb->failed)
                return;
        if (n > SIZE_MAX / 2 - sb->len) {
                sb->failed = 1;
                return;
        }
        if (sb->len + n + 1 > sb->cap) {
                size_t cap = sb->cap ? sb->cap : 4096;
                char *p;

                while (cap < sb->len + n + 1)
                        cap *= 2;
                p = realloc(sb->p, cap);
                if (p == NULL) {
                        sb->failed = 1;
                        return;
                }
                sb->p = p;
                sb->cap = cap;
        }
        memcpy(sb->p + sb->len, data, n);
        sb->len += n;
        sb->p[sb->len] = '\0';
}

static void
sb_puts(struct sbuf *sb, const char *text)
{
        sb_append(sb, text, strlen(text));
}

static void
sb_fill(struct sbuf *sb, char c, size_t n)
{
        char chunk[64];

        memset(chunk, c, sizeof(chunk));
        while (n > 0 && !sb->failed) {
                size_t k = n < sizeof(chunk) ? n : sizeof(chunk);

                sb_append(sb, chunk, k);
                n -= k;
        }
}

static void CL_PRINTF(2, 3) sb_printf(struct sbuf *sb, const char *fmt, ...)
{
        char tmp[512];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n >= sizeof(tmp)) {
                sb->failed = 1;
                return;
        }
        sb_append(sb, tmp, (size_t)n);
}

static void
sb_span(struct sbuf *sb, const struct pdf *doc, size_t start, size_t end)
{
        sb_append(sb, doc->buf + start, end - start);
}

/*
 * Copies the entries of dict except the keys in skip (names without the
 * slash) into sb after "<<", leaving the dictionary open for new keys.
 */
static cl_err
copy_dict_except(const struct pdf *doc, const struct val *dict,
                 const char *const *skip, size_t nskip, struct sbuf *sb)
{
        size_t pos = dict->start, i;
        struct val v;
        struct tok t;
        cl_err rc;

        sb_puts(sb, "<<");
        rc = next_tok(doc, &pos, &t);
        if (rc != CL_OK)
                return rc;
        for (;;) {
                int skipped = 0;

                rc = next_tok(doc, &pos, &t);
                if (rc != CL_OK)
                        return rc;
                if (t.kind != TOK_NAME)
                        return CL_OK;
                rc = parse_value(doc, &pos, 1, &v);
                if (rc != CL_OK)
                        return rc;
                for (i = 0; i < nskip; i++)
                        if (name_equals(doc, t.start, t.end, skip[i]))
                                skipped = 1;
                if (skipped)
                        continue;
                sb_append(sb, " ", 1);
                sb_span(sb, doc, t.start, v.end);
        }
}

/* Parses the first element of the /Kids array kids. */
static cl_err
first_kid(const struct pdf *doc, const struct val *kids, struct val *first)
{
        size_t pos = kids->start + 1;
        struct tok t;
        cl_err rc;

        if (kids->kind != VAL_ARRAY)
                return pdf_fail(doc, kids->start, "/Kids is not an array");
        rc = next_tok(doc, &pos, &t);
        if (rc != CL_OK)
                return rc;
        if (t.kind == TOK_ARRAY_CLOSE)
                return pdf_fail(doc, kids->start, "page tree has no pages");
        pos = kids->start + 1;
        return parse_value(doc, &pos, 1, first);
}

/* Finds the first page: an indirect /Page object under /Pages. */
static cl_err
find_first_page(const struct pdf *doc, const struct val *catalog,
                struct val *page_ref, struct val *page)
{
        struct val ref, node, type, kids, first;
        int found, depth;
        cl_err rc;

        rc = dict_get(doc, catalog, "Pages", &ref, &found);
        if (rc != CL_OK)
                return rc;
        if (!found || ref.kind != VAL_REF)
                return pdf_fail(doc, catalog->start,
                                "catalog has no indirect /Pages");
        for (depth = 0; depth < PDF_MAX_DEPTH; depth++) {
                rc = load_object(doc, ref.num, ref.gen, &node);
                if (rc != CL_OK)
                        return rc;
                if (node.kind != VAL_DICT)
                        return pdf_fail(doc, node.start,
                                        "page tree node is not a "
                                        "dictionary");
                rc = dict_get(doc, &node, "Type", &type, &found);
                if (rc != CL_OK)
                        return rc;
                if (found && type.kind == VAL_NAME &&
                    name_equals(doc, type.start, type.end, "Page")) {
                        *page_ref = ref;
                        *page = node;
                        return CL_OK;
                }
                rc = dict_get(doc, &node, "Kids", &kids, &found);
                if (rc != CL_OK)
                        return rc;
                if (!found)
                        return pdf_fail(doc, node.start,
                                        "page tree node has neither /Type "
                                        "/Page nor /Kids");
                rc = resolve(doc, &kids, &kids);
                if (rc != CL_OK)
                        return rc;
                rc = first_kid(doc, &kids, &first);
                if (rc != CL_OK)
                        return rc;
                if (first.kind != VAL_REF)
                        return pdf_fail(doc, first.start,
                                        "/Kids entry is not an indirect "
                                        "reference");
                ref = first;
        }
        return pdf_fail(doc, ref.start, "page tree nested too deeply");
}

/* Decodes one UTF-8 character at *s; returns -1 when invalid. */
static long
utf8_next(const unsigned char **s)
{
        const unsigned char *p = *s;
        long cp, min;
        int n, i;

        if (p[0] < 0x80) {
                *s = p + 1;
                return p[0];
        }
        if ((p[0] & 0xE0) == 0xC0) {
                n = 1;
                cp = p[0] & 0x1F;
                min = 0x80;
        } else if ((p[0] & 0xF0) == 0xE0) {
                n = 2;
                cp = p[0] & 0x0F;
                min = 0x800;
        } else if ((p[0] & 0xF8) == 0xF0) {
                n = 3;
                cp = p[0] & 0x07;
                min = 0x10000;
        } else {
                return -1;
        }
        for (i = 1; i <= n; i++) {
                if ((p[i] & 0xC0) != 0x80)
                        return -1; /* also stops at the NUL */
                cp = (cp << 6) | (p[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return -1;
        *s = p + n + 1;
        return cp;
}

/*
 * Appends " /key text" as a PDF text string: a literal string when text is
 * printable ASCII, else UTF-16BE in hex with a byte order mark.
 */
static cl_err
append_text(struct sbuf *sb, const char *key, const char *text)
{
        const unsigned char *s = (const unsigned char *)text;
        size_t len, i;
        int ascii = 1;

        if (text == NULL)
                return CL_OK;
        len = strlen(text);
        if (len > SIG_TEXT_MAX)
                return cl_fail(CL_EINVAL, "signature /%s longer than %d bytes",
                               key, SIG_TEXT_MAX);
        for (i = 0; i < len; i++)
                if (s[i] < 0x20 || s[i] > 0x7E)
                        ascii = 0;
        sb_printf(sb, " /%s ", key);
        if (ascii) {
                sb_append(sb, "(", 1);
                for (i = 0; i < len; i++) {
                        if (s[i] == '(' || s[i] == ')' || s[i] == '\\')
                                sb_append(sb, "\\", 1);
                        sb_append(sb, &s[i], 1);
                }
                sb_append(sb, ")", 1);
                return CL_OK;
        }
        sb_puts(sb, "<FEFF");
        while (*s != '\0') {
                long cp = utf8_next(&s);

                if (cp < 0)
                        return cl_fail(CL_EINVAL,
                                       "signature /%s is not valid UTF-8", key);
                if (cp >= 0x10000) {
                        cp -= 0x10000;
                        sb_printf(sb, "%04lX%04lX", 0xD800 + (cp >> 10),
                                  0xDC00 + (cp & 0x3FF));
                } else {
                        sb_printf(sb, "%04lX", cp);
                }
        }
        sb_append(sb, ">", 1);
        return CL_OK;
}

/* Formats ns since the epoch as a PDF date in UTC, "D:YYYYMMDDHHmmSS". */
static cl_err
format_pdf_date(int64_t ns, char *buf, size_t size)
{
        int64_t secs = ns / CL_NS_PER_S, days, rem;
        int year, month, day, n;

        if (ns % CL_NS_PER_S < 0)
                secs--;
        days = secs / 86400;
        rem = secs % 86400;
        if (rem < 0) {
                rem += 86400;
                days--;
        }
        cl_civil_from_days(days, &year, &month, &day);
        if (year < 0 || year > 9999)
                return cl_fail(CL_EINVAL,
                               "signing time %" PRId64
                               " ns is outside the years 0 to 9999",
                               ns);
        n = snprintf(buf, size, "D:%04d%02d%02d%02d%02d%02d+00'00'", year,
                     month, day, (int)(rem / 3600), (int)(rem / 60 % 60),
                     (int)(rem % 60));
        if (n < 0 || (size_t)n >= size)
                return cl_fail(CL_EINVAL, "PDF date buffer too small");
        return CL_OK;
}

/* Appends 16 bytes of SHA-256(a || b) as a hex string. */
static cl_err
append_id(struct sbuf *sb, const void *a, size_t alen, const void *b,
          size_t blen)
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0, i;
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        cl_err rc = CL_OK;

        if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
            EVP_DigestUpdate(ctx, a, alen) != 1 ||
            EVP_DigestUpdate(ctx, b, blen) != 1 ||
            EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen < 16) {
                rc = cl_crypto_fail(CL_ECRYPTO, "compute the PDF /ID");
                goto out;
        }
        sb_append(sb, "<", 1);
        for (i = 0; i < 16; i++)
                sb_printf(sb, "%02X", md[i]);
        sb_append(sb, ">", 1);
out:
        EVP_MD_CTX_free(ctx);
        return rc;
}

/* Offsets inside the update that cl_sign_pdf patches after layout. */
struct layout {
        size_t byte_range; /* offset of the /ByteRange array */
        size_t contents;   /* offset of the '<' of /Contents */
        size_t reserve;    /* room for the CMS in /Contents, bytes */
};

struct new_obj {
        int64_t num, gen;
        size_t offset; /* in the whole output file */
};

static int
new_obj_cmp(const void *a, const void *b)
{
        const struct new_obj *x = a, *y = b;

        return x->num < y->num ? -1 : x->num > y->num;
}

static void
begin_obj(struct sbuf *sb, const struct pdf *doc, struct new_obj *o,
          int64_t num, int64_t gen)
{
        o->num = num;
        o->gen = gen;
        o->offset = doc->len + sb->len;
        sb_printf(sb, "%" PRId64 " %" PRId64 " obj\n", num, gen);
}

/* Appends the new catalog: every old key, /AcroForm replaced. */
static cl_err
append_catalog(struct sbuf *sb, const struct pdf *doc,
               const struct val *catalog, int64_t widget)
{
        static const char *const skip[] = {"AcroForm"};
        cl_err rc;

        rc = copy_dict_except(doc, catalog, skip, 1, sb);
        if (rc != CL_OK)
                return rc;
        sb_printf(sb,
                  " /AcroForm <</Fields [%" PRId64
                  " 0 R] /SigFlags 3>>>>\nendobj\n",
                  widget);
        return CL_OK;
}

/* Appends the new first page: every old key, /Annots extended. */
static cl_err
append_page(struct sbuf *sb, const struct pdf *doc, const struct val *page,
            int64_t widget)
{
        static const char *const skip[] = {"Annots"};
        struct val annots;
        int found;
        cl_err rc;

        rc = dict_get(doc, page, "Annots", &annots, &found);
        if (rc != CL_OK)
                return rc;
        if (found) {
                rc = resolve(doc, &annots, &annots);
                if (rc != CL_OK)
                        return rc;
                if (annots.kind != VAL_ARRAY)
                        return pdf_fail(doc, annots.start,
                                        "page /Annots is not an array");
        }
        rc = copy_dict_except(doc, page, skip, 1, sb);
        if (rc != CL_OK)
                return rc;
        sb_puts(sb, " /Annots [");
        /* The old array's elements, without its brackets. */
        if (found)
                sb_span(sb, doc, annots.start + 1, annots.end - 1);
        sb_printf(sb, " %" PRId64 " 0 R]>>\nendobj\n", widget);
        return CL_OK;
}

static cl_err
append_sig_dict(struct sbuf *sb, const struct cl_pdf_sig_info *info,
                const char *date, struct layout *lay)
{
        cl_err rc;

        sb_puts(sb, "<</Type /Sig /Filter /Adobe.PPKLite /SubFilter "
                    "/ETSI.CAdES.detached\n/ByteRange ");
        lay->byte_range = sb->len;
        sb_printf(sb, "%-*s", BYTE_RANGE_WIDTH, "[0 0 0 0]");
        sb_printf(sb, "\n/M (%s)", date);
        rc = append_text(sb, "Name", info->name);
        if (rc == CL_OK)
                rc = append_text(sb, "Reason", info->reason);
        if (rc == CL_OK)
                rc = append_text(sb, "Location", info->location);
        if (rc != CL_OK)
                return rc;
        sb_puts(sb, "\n/Contents ");
        lay->contents = sb->len;
        sb_puts(sb, "<");
        sb_fill(sb, '0', lay->reserve * 2);
        sb_puts(sb, ">>>\nendobj\n");
        return CL_OK;
}

static void
append_xref(struct sbuf *sb, struct new_obj *objs, size_t n)
{
        size_t i, j;

        qsort(objs, n, sizeof(*objs), new_obj_cmp);
        sb_puts(sb, "xref\n");
        for (i = 0; i < n; i = j) {
                for (j = i + 1; j < n && objs[j].num == objs[j - 1].num + 1;
                     j++)
                        ;
                sb_printf(sb, "%" PRId64 " %zu\n", objs[i].num, j - i);
                for (; i < j; i++)
                        sb_printf(sb, "%010zu %05" PRId64 " n\r\n",
                                  objs[i].offset, objs[i].gen);
        }
}

/* Appends the trailer: old keys except /Size, /Prev and /ID, then those. */
static cl_err
append_trailer(struct sbuf *sb, const struct pdf *doc,
               const struct val *trailer, size_t old_xref, size_t new_xref,
               const char *date)
{
        static const char *const skip[] = {"Size", "Prev", "ID"};
        struct val id, first;
        int found;
        cl_err rc;

        rc = dict_get(doc, trailer, "ID", &id, &found);
        if (rc != CL_OK)
                return rc;
        sb_puts(sb, "trailer\n");
        rc = copy_dict_except(doc, trailer, skip, 3, sb);
        if (rc != CL_OK)
                return rc;
        sb_printf(sb, " /Size %zu /Prev %zu /ID [", doc->nobj + 2, old_xref);
        /* An update keeps the first /ID element of the original file. */
        if (found && id.kind == VAL_ARRAY) {
                size_t pos = id.start + 1;

                rc = parse_value(doc, &pos, 1, &first);
                if (rc != CL_OK)
                        return rc;
                if (first.kind != VAL_STRING)
                        return pdf_fail(doc, first.start,
                                        "trailer /ID is not a string");
                sb_span(sb, doc, first.start, first.end);
        } else {
                rc = append_id(sb, doc->buf, doc->len, "", 0);
                if (rc != CL_OK)
                        return rc;
        }
        rc = append_id(sb, doc->buf, doc->len, date, strlen(date));
        if (rc != CL_OK)
                return rc;
        sb_printf(sb, "]>>\nstartxref\n%zu\n%%%%EOF\n", new_xref);
        return CL_OK;
}

/*
 * Lays out the whole incremental update in sb, with the /ByteRange and
 * /Contents placeholders recorded in lay.
 */
static cl_err
build_update(struct pdf *doc, const struct cl_pdf_sig_info *info,
             struct sbuf *sb, struct layout *lay)
{
        struct val trailer = {0}, root = {0}, catalog = {0}, type = {0};
        struct val acroform = {0}, page_ref = {0}, page = {0};
        struct new_obj objs[4];
        size_t old_xref, new_xref;
        int64_t widget, sig;
        char date[32];
        int found;
        cl_err rc;

        rc = format_pdf_date(info->signing_ns, date, sizeof(date));
        if (rc != CL_OK)
                return rc;
        if (doc->len < 5 || memcmp(doc->buf, "%PDF-", 5) != 0)
                return pdf_fail(doc, 0, "no %PDF- header");
        rc = read_xref(doc, &trailer);
        if (rc != CL_OK)
                return rc;
        rc = find_startxref(doc, &old_xref);
        if (rc != CL_OK)
                return rc;
        rc = dict_get(doc, &trailer, "Encrypt", &type, &found);
        if (rc != CL_OK)
                return rc;
        if (found)
                return pdf_fail(doc, trailer.start,
                                "encrypted PDFs are not supported");
        rc = dict_get(doc, &trailer, "Root", &root, &found);
        if (rc != CL_OK)
                return rc;
        if (!found || root.kind != VAL_REF)
                return pdf_fail(doc, trailer.start,
                                "trailer has no indirect /Root");
        rc = load_object(doc, root.num, root.gen, &catalog);
        if (rc != CL_OK)
                return rc;
        if (catalog.kind != VAL_DICT)
                return pdf_fail(doc, catalog.start,
                                "catalog is not a dictionary");
        rc = dict_get(doc, &catalog, "AcroForm", &acroform, &found);
        if (rc != CL_OK)
                return rc;
        if (found)
                return pdf_fail(doc, acroform.start,
                                "catalog already has an /AcroForm (a form "
                                "or a signature); only unsigned PDFs "
                                "without forms are supported");
        rc = find_first_page(doc, &catalog, &page_ref, &page);
        if (rc != CL_OK)
                return rc;
        widget = (int64_t)doc->nobj;
        sig = widget + 1;

        if (doc->buf[doc->len - 1] != '\n' && doc->buf[doc->len - 1] != '\r')
                sb_append(sb, "\n", 1);
        begin_obj(sb, doc, &objs[0], root.num, root.gen);
        rc = append_catalog(sb, doc, &catalog, widget);
        if (rc != CL_OK)
                return rc;
        begin_obj(sb, doc, &objs[1], page_ref.num, page_ref.gen);
        rc = append_page(sb, doc, &page, widget);
        if (rc != CL_OK)
                return rc;
        /* /F 132: Print and Locked. The zero /Rect makes it invisible. */
        begin_obj(sb, doc, &objs[2], widget, 0);
        sb_printf(sb,
                  "<</Type /Annot /Subtype /Widget /FT /Sig /T (Signature1) "
                  "/V %" PRId64 " 0 R /P %" PRId64 " %" PRId64
                  " R /Rect [0 0 0 0] /F 132>>\nendobj\n",
                  sig, page_ref.num, page_ref.gen);
        begin_obj(sb, doc, &objs[3], sig, 0);
        rc = append_sig_dict(sb, info, date, lay);
        if (rc != CL_OK)
                return rc;
        new_xref = doc->len + sb->len;
        append_xref(sb, objs, 4);
        rc = append_trailer(sb, doc, &trailer, old_xref, new_xref, date);
        if (rc != CL_OK)
                return rc;
        if (sb->failed)
                return cl_fail(CL_ENOMEM,
                               "%s: signature update: out of "
                               "memory",
                               doc->path);
        return CL_OK;
}

/*
 * Fills the /ByteRange and /Contents of the assembled file out (out_len
 * bytes, the update starting at base) with the CMS over the signed ranges.
 */
static cl_err
fill_signature(const struct cl_signer *signer, const char *path, char *out,
               size_t out_len, size_t base, const struct layout *lay)
{
        static const char hex[] = "0123456789ABCDEF";
        size_t a = base + lay->contents, b = a + lay->reserve * 2 + 2;
        unsigned char *der = NULL;
        char range[BYTE_RANGE_WIDTH + 1];
        size_t der_len = 0, i;
        BIO *data = NULL;
        cl_err rc = CL_OK;
        int n;

        n = snprintf(range, sizeof(range), "[0 %zu %zu %zu]", a, b,
                     out_len - b);
        if (n < 0 || (size_t)n >= sizeof(range)) {
                rc =
                    cl_fail(CL_EFORMAT, "%s: too large for a /ByteRange", path);
                goto out;
        }
        memset(range + n, ' ', BYTE_RANGE_WIDTH - (size_t)n);
        memcpy(out + base + lay->byte_range, range, BYTE_RANGE_WIDTH);

        data = BIO_new(BIO_s_mem());
        if (data == NULL || a > INT_MAX || out_len - b > INT_MAX ||
            BIO_write(data, out, (int)a) != (int)a ||
            BIO_write(data, out + b, (int)(out_len - b)) !=
                (int)(out_len - b)) {
                rc =
                    cl_crypto_fail(CL_ENOMEM, "%s: buffer signed ranges", path);
                goto out;
        }
        rc = cl_cms_sign(signer, data, 0, &der, &der_len, path);
        if (rc != CL_OK)
                goto out;
        if (der_len > lay->reserve) {
                rc = cl_fail(CL_ECRYPTO,
                             "%s: CMS signature of %zu bytes does not fit "
                             "the %zu bytes reserved in /Contents",
                             path, der_len, lay->reserve);
                goto out;
        }
        for (i = 0; i < der_len; i++) {
                out[a + 1 + 2 * i] = hex[der[i] >> 4];
                out[a + 2 + 2 * i] = hex[der[i] & 0xF];
        }
out:
        OPENSSL_free(der);
        BIO_free(data);
        return rc;
}

static cl_err
check_distinct(const char *in_path, const char *out_path)
{
        struct stat a, b;

        if (strcmp(in_path, out_path) == 0)
                return cl_fail(CL_EINVAL, "sign %s: output path is the input",
                               in_path);
        if (stat(in_path, &a) == 0 && stat(out_path, &b) == 0 &&
            a.st_dev == b.st_dev && a.st_ino == b.st_ino)
                return cl_fail(CL_EINVAL, "sign %s: output %s is the input",
                               in_path, out_path);
        return CL_OK;
}

cl_err
cl_sign_pdf(const struct cl_signer *signer, const char *in_path,
            const char *out_path, const struct cl_pdf_sig_info *info)
{
        struct pdf doc = {.path = in_path};
        struct sbuf sb = {0};
        struct layout lay = {0};
        char tmp[PATH_MAX], *in = NULL, *out = NULL;
        size_t in_len = 0, out_len;
        int tmp_written = 0;
        cl_err rc;

        if (info == NULL) {
                rc = cl_fail(CL_EINVAL, "sign %s: no signature info", in_path);
                goto out;
        }
        rc = check_distinct(in_path, out_path);
        if (rc == CL_OK)
                rc = cl_tmp_path(out_path, tmp, sizeof(tmp));
        if (rc == CL_OK)
                rc = cl_read_file(in_path, PDF_MAX_BYTES, &in, &in_len);
        if (rc != CL_OK)
                goto out;
        doc.buf = in;
        doc.len = in_len;
        lay.reserve = cl_cms_max_size(signer);
        lay.reserve = (lay.reserve + 1023) / 1024 * 1024;
        if (lay.reserve < SIG_RESERVE_MIN)
                lay.reserve = SIG_RESERVE_MIN;
        rc = build_update(&doc, info, &sb, &lay);
        if (rc != CL_OK)
                goto out;

        out_len = in_len + sb.len;
        out = malloc(out_len);
        if (out == NULL) {
                rc = cl_fail(CL_ENOMEM, "sign %s: out of memory", in_path);
                goto out;
        }
        memcpy(out, in, in_len);
        memcpy(out + in_len, sb.p, sb.len);
        rc = fill_signature(signer, in_path, out, out_len, in_len, &lay);
        if (rc != CL_OK)
                goto out;
        tmp_written = 1;
        rc = cl_write_file(tmp, out, out_len);
        if (rc != CL_OK)
                goto out;
        rc = cl_commit_file(tmp, out_path);
        if (rc == CL_OK)
                tmp_written = 0;
out:
        if (tmp_written)
                unlink(tmp);
        free(doc.xref);
        free(sb.p);
        free(out);
        free(in);
        return rc;
}
