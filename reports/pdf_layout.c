/*
 * Pages, running header and footer, headings, paragraphs and tables of the
 * PDF report. Every string is cleaned with cl_text_sanitize before it is
 * drawn, and every line is laid out here with widths from
 * HPDF_Font_TextWidth, so no line ends inside a UTF-8 character and no
 * text runs past its column. Headers and footers are drawn last, because
 * the footer needs the page count. libharu keeps each page's content
 * stream open until HPDF_SaveToFile, so earlier pages can still be drawn.
 */
#include "pdf_layout.h"

#include "pdf_text.h"

#include <errno.h>
#include <hpdf_font.h>
#include <hpdf_fontdef.h>
#include <hpdf_objects.h>
#include <hpdf_streams.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE_HEIGHT 841.89
#define CONTENT_TOP (PAGE_HEIGHT - 86.0)
#define CONTENT_BOTTOM 54.0
#define CELL_PAD 2.5
/* Right-aligned numbers keep more room from a left-aligned neighbour. */
#define CELL_PAD_RIGHT 6.0
#define CELL_SIZE 7.5
#define CELL_LEADING 9.8
#define HEAD_KO_SIZE 7.5
#define HEAD_EN_SIZE 6.5
#define HEAD_LEADING 8.8
#define MAX_LINES 40

struct width_ctx {
        HPDF_Font font;
        double size;
};

/* A cell broken into lines, which point into the clean copy in text. */
struct cell_lines {
        char text[CL_PDF_CELL_MAX];
        size_t start[MAX_LINES];
        size_t len[MAX_LINES];
        size_t n;
};

static void HPDF_STDCALL
on_hpdf_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void *user_data)
{
        struct cl_pdf_doc *d = user_data;

        if (d->error_no == HPDF_OK) {
                d->error_no = error_no;
                d->detail_no = detail_no;
        }
}

static double
measure(const char *text, size_t len, void *ctx)
{
        const struct width_ctx *w = ctx;
        HPDF_TextWidth tw;

        tw = HPDF_Font_TextWidth(w->font, (const HPDF_BYTE *)text,
                                 (HPDF_UINT)len);
        return tw.width * w->size / 1000.0;
}

double
cl_pdf_width(HPDF_Font font, double size, const char *text)
{
        struct width_ctx w = {font, size};

        return measure(text, strlen(text), &w);
}

/*
 * Writes an identity ToUnicode CMap for 2-byte codes into stream: with the
 * UTF-8 encoder libharu 2.3.0 writes each character as its BMP code point,
 * so code = Unicode value. UTF-16 surrogates (D800-DFFF) are left out, and
 * each bfrange block holds at most 100 entries, as the CMap syntax
 * requires.
 */
static HPDF_STATUS
write_identity_cmap(HPDF_Stream stream)
{
        static const char head[] =
            "/CIDInit /ProcSet findresource begin\n"
            "12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) "
            "/Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n";
        static const char tail[] =
            "endcmap\nCMapName currentdict /CMap defineresource pop\n"
            "end\nend\n";
        HPDF_STATUS rc = HPDF_Stream_WriteStr(stream, head);
        unsigned int high = 0;

        while (rc == HPDF_OK && high < 0x100) {
                unsigned int block[100], n = 0;
                char line[48];

                for (; high < 0x100 && n < 100; high++)
                        if (high < 0xD8 || high > 0xDF)
                                block[n++] = high;
                snprintf(line, sizeof(line), "%u beginbfrange\n", n);
                rc = HPDF_Stream_WriteStr(stream, line);
                for (unsigned int i = 0; i < n && rc == HPDF_OK; i++) {
                        snprintf(line, sizeof(line),
                                 "<%02X00> <%02XFF> <%02X00>\n", block[i],
                                 block[i], block[i]);
                        rc = HPDF_Stream_WriteStr(stream, line);
                }
                if (rc == HPDF_OK)
                        rc = HPDF_Stream_WriteStr(stream, "endbfrange\n");
        }
        if (rc == HPDF_OK)
                rc = HPDF_Stream_WriteStr(stream, tail);
        return rc;
}

/*
 * Replaces the /ToUnicode entry of font. libharu 2.3.0 stores the
 * encoding CMap there (with begincidrange), which is not a valid ToUnicode
 * map: poppler warns on every page and viewers may copy or search text
 * wrongly. The old stream stays in the file, unreferenced.
 */
static int
replace_to_unicode(struct cl_pdf_doc *d, HPDF_Font font)
{
        HPDF_Dict cmap = HPDF_DictStream_New(d->pdf->mmgr, d->pdf->xref);

        if (!cmap)
                return 0;
        cmap->filter = HPDF_STREAM_FILTER_FLATE_DECODE;
        if (write_identity_cmap(cmap->stream) != HPDF_OK)
                return 0;
        return HPDF_Dict_Add(font, "ToUnicode", cmap) == HPDF_OK;
}

/*
 * Returns 0 when the font lacks a Hangul syllable the report's Korean text
 * uses: libharu draws a missing glyph as an empty box without an error.
 */
static int
covers_hangul(HPDF_Font font, unsigned *missing)
{
        /* 에너지 탄소 감사 보고서 측정 추정 선언 */
        static const unsigned sample[] = {
            0xc5d0, 0xb108, 0xc9c0, 0xd0c4, 0xc18c, 0xac10, 0xc0ac, 0xbcf4,
            0xace0, 0xc11c, 0xce21, 0xc815, 0xcd94, 0xc120, 0xc5b8};
        HPDF_FontAttr attr = (HPDF_FontAttr)font->attr;

        if (attr == NULL || attr->fontdef == NULL ||
            attr->fontdef->type != HPDF_FONTDEF_TYPE_TRUETYPE)
                return 1;
        for (size_t i = 0; i < sizeof(sample) / sizeof(sample[0]); i++)
                if (HPDF_TTFontDef_GetGlyphid(attr->fontdef,
                                              (HPDF_UINT16)sample[i]) == 0) {
                        *missing = sample[i];
                        return 0;
                }
        return 1;
}

/* Loads one TrueType file and returns its font in the UTF-8 encoding. */
static cl_err
load_font(struct cl_pdf_doc *d, const char *path, HPDF_Font *out)
{
        unsigned missing = 0;
        const char *name;

        if (access(path, R_OK) != 0)
                return cl_fail_errno(CL_EIO, errno, "cannot read font %s",
                                     path);
        name = HPDF_LoadTTFontFromFile(d->pdf, path, HPDF_TRUE);
        if (name)
                *out = HPDF_GetFont(d->pdf, name, "UTF-8");
        if (!name || !*out || !replace_to_unicode(d, *out))
                return cl_fail(CL_ERENDER,
                               "cannot embed font %s: libharu error 0x%04X "
                               "(detail %u)",
                               path, (unsigned)d->error_no,
                               (unsigned)d->detail_no);
        if (!covers_hangul(*out, &missing))
                return cl_fail(CL_ERENDER,
                               "font %s has no glyph for U+%04X: the Korean "
                               "text would print as boxes; use a Korean "
                               "TrueType font such as NanumGothic",
                               path, missing);
        return CL_OK;
}

cl_err
cl_pdf_doc_init(struct cl_pdf_doc *d, const char *font_path,
                const char *bold_path, const struct cl_report_text *text)
{
        cl_err err;

        memset(d, 0, sizeof(*d));
        d->text = text;
        d->pdf = HPDF_New(on_hpdf_error, d);
        if (!d->pdf)
                return cl_fail(CL_ENOMEM, "cannot create a libharu document");
        HPDF_SetCompressionMode(d->pdf, HPDF_COMP_ALL);
        HPDF_UseUTFEncodings(d->pdf);
        HPDF_SetCurrentEncoder(d->pdf, "UTF-8");
        if (d->error_no != HPDF_OK)
                return cl_fail(CL_ERENDER,
                               "cannot set up UTF-8 in libharu: error 0x%04X",
                               (unsigned)d->error_no);
        err = load_font(d, font_path, &d->regular);
        if (err != CL_OK)
                return err;
        return load_font(d, bold_path, &d->bold);
}

void
cl_pdf_doc_free(struct cl_pdf_doc *d)
{
        if (d->pdf)
                HPDF_Free(d->pdf);
        free(d->pages);
        d->pdf = NULL;
        d->pages = NULL;
}

int
cl_pdf_failed(const struct cl_pdf_doc *d)
{
        return d->error_no != HPDF_OK || d->missing_key[0] != '\0' ||
               d->out_of_memory;
}

const char *
cl_pdf_text(struct cl_pdf_doc *d, const char *key, enum cl_lang lang)
{
        const char *s = cl_report_text_get(d->text, key, lang);

        if (s)
                return s;
        if (d->missing_key[0] == '\0')
                snprintf(d->missing_key, sizeof(d->missing_key), "%s", key);
        return "";
}

/* Draws clean text with its baseline at (x, y). */
static void
show(struct cl_pdf_doc *d, HPDF_Font font, double size, double x, double y,
     const char *text)
{
        HPDF_Page_BeginText(d->page);
        HPDF_Page_SetFontAndSize(d->page, font, (HPDF_REAL)size);
        HPDF_Page_TextOut(d->page, (HPDF_REAL)x, (HPDF_REAL)y, text);
        HPDF_Page_EndText(d->page);
}

/* Draws len bytes of clean text; TextOut needs a terminated string. */
static void
show_n(struct cl_pdf_doc *d, HPDF_Font font, double size, double x, double y,
       const char *text, size_t len)
{
        char line[CL_PDF_CELL_MAX];

        if (len >= sizeof(line))
                len = sizeof(line) - 1;
        memcpy(line, text, len);
        line[len] = '\0';
        show(d, font, size, x, y, line);
}

static void
hline(struct cl_pdf_doc *d, double y, double width, double gray)
{
        HPDF_Page_SetLineWidth(d->page, (HPDF_REAL)width);
        HPDF_Page_SetGrayStroke(d->page, (HPDF_REAL)gray);
        HPDF_Page_MoveTo(d->page, (HPDF_REAL)CL_PDF_MARGIN, (HPDF_REAL)y);
        HPDF_Page_LineTo(d->page,
                         (HPDF_REAL)(CL_PDF_MARGIN + CL_PDF_CONTENT_WIDTH),
                         (HPDF_REAL)y);
        HPDF_Page_Stroke(d->page);
}

/* Breaks clean text into lines of width points at most. */
static void
break_lines(struct cell_lines *c, HPDF_Font font, double size, double width)
{
        struct width_ctx w = {font, size};
        size_t len = strlen(c->text), pos = 0;

        c->n = 0;
        while (pos < len && c->n < MAX_LINES) {
                size_t next;
                size_t n = cl_text_break(c->text + pos, len - pos, width,
                                         measure, &w, &next);

                c->start[c->n] = pos;
                c->len[c->n] = n;
                c->n++;
                pos += next;
        }
}

static void draw_table_head(struct cl_pdf_doc *d);

void
cl_pdf_new_page(struct cl_pdf_doc *d)
{
        if (d->n_pages == d->cap_pages) {
                size_t cap = d->cap_pages ? d->cap_pages * 2 : 16;
                HPDF_Page *pages = realloc(d->pages, cap * sizeof(*pages));

                if (!pages) {
                        d->out_of_memory = 1;
                        return;
                }
                d->pages = pages;
                d->cap_pages = cap;
        }
        d->page = HPDF_AddPage(d->pdf);
        if (!d->page)
                return;
        HPDF_Page_SetSize(d->page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
        d->pages[d->n_pages++] = d->page;
        d->y = CONTENT_TOP;
        if (d->table)
                draw_table_head(d);
}

void
cl_pdf_need(struct cl_pdf_doc *d, double height)
{
        if (!d->page || d->y - height < CONTENT_BOTTOM)
                cl_pdf_new_page(d);
}

void
cl_pdf_skip(struct cl_pdf_doc *d, double height)
{
        d->y -= height;
}

void
cl_pdf_heading(struct cl_pdf_doc *d, const char *key, double size,
               double min_follow)
{
        char ko[256], en[256];
        double x = CL_PDF_MARGIN;

        cl_text_sanitize(cl_pdf_text(d, key, CL_LANG_KO), ko, sizeof(ko));
        cl_text_sanitize(cl_pdf_text(d, key, CL_LANG_EN), en, sizeof(en));
        cl_pdf_need(d, size * 1.8 + min_follow);
        if (!d->page)
                return;
        d->y -= size * 1.2;
        show(d, d->bold, size, x, d->y, ko);
        x += cl_pdf_width(d->bold, size, ko) + size * 0.8;
        HPDF_Page_SetGrayFill(d->page, 0.3f);
        show(d, d->regular, size * 0.85, x, d->y, en);
        HPDF_Page_SetGrayFill(d->page, 0.0f);
        d->y -= size * 0.6;
}

void
cl_pdf_paragraph(struct cl_pdf_doc *d, HPDF_Font font, double size, double gray,
                 const char *text)
{
        struct cell_lines c;
        double leading = size * 1.45;

        cl_text_sanitize(text, c.text, sizeof(c.text));
        break_lines(&c, font, size, CL_PDF_CONTENT_WIDTH);
        for (size_t i = 0; i < c.n; i++) {
                cl_pdf_need(d, leading);
                if (!d->page)
                        return;
                d->y -= leading;
                HPDF_Page_SetGrayFill(d->page, (HPDF_REAL)gray);
                show_n(d, font, size, CL_PDF_MARGIN, d->y + leading - size,
                       c.text + c.start[i], c.len[i]);
                HPDF_Page_SetGrayFill(d->page, 0.0f);
        }
}

/* Returns the room for text in col, in points. */
static double
text_room(const struct cl_pdf_col *col)
{
        return col->width - CELL_PAD -
               (col->align == CL_PDF_RIGHT ? CELL_PAD_RIGHT : CELL_PAD);
}

/* Returns the x of text of width w in column [x, x + col_w). */
static double
align_x(enum cl_pdf_align align, double x, double col_w, double w)
{
        if (align == CL_PDF_RIGHT)
                return x + col_w - CELL_PAD_RIGHT - w;
        return x + CELL_PAD;
}

static void
draw_table_head(struct cl_pdf_doc *d)
{
        const struct cl_pdf_table *t = d->table;
        struct cell_lines ko[CL_PDF_MAX_COLS], en[CL_PDF_MAX_COLS];
        size_t rows = 1;
        double x = CL_PDF_MARGIN, height;

        for (size_t i = 0; i < t->n_cols; i++) {
                const struct cl_pdf_col *col = &t->cols[i];
                double w = text_room(col);

                cl_text_sanitize(cl_pdf_text(d, col->head, CL_LANG_KO),
                                 ko[i].text, sizeof(ko[i].text));
                cl_text_sanitize(cl_pdf_text(d, col->head, CL_LANG_EN),
                                 en[i].text, sizeof(en[i].text));
                break_lines(&ko[i], d->bold, HEAD_KO_SIZE, w);
                break_lines(&en[i], d->regular, HEAD_EN_SIZE, w);
                if (ko[i].n + en[i].n > rows)
                        rows = ko[i].n + en[i].n;
        }
        height = rows * HEAD_LEADING + 4;
        HPDF_Page_SetGrayFill(d->page, 0.9f);
        HPDF_Page_Rectangle(d->page, (HPDF_REAL)CL_PDF_MARGIN,
                            (HPDF_REAL)(d->y - height),
                            (HPDF_REAL)CL_PDF_CONTENT_WIDTH, (HPDF_REAL)height);
        HPDF_Page_Fill(d->page);
        HPDF_Page_SetGrayFill(d->page, 0.0f);
        for (size_t i = 0; i < t->n_cols; i++) {
                const struct cl_pdf_col *col = &t->cols[i];
                double y = d->y - 2 - HEAD_KO_SIZE;

                for (size_t k = 0; k < ko[i].n; k++, y -= HEAD_LEADING) {
                        const char *s = ko[i].text + ko[i].start[k];
                        char line[CL_PDF_CELL_MAX];

                        snprintf(line, sizeof(line), "%.*s", (int)ko[i].len[k],
                                 s);
                        show(d, d->bold, HEAD_KO_SIZE,
                             align_x(col->align, x, col->width,
                                     cl_pdf_width(d->bold, HEAD_KO_SIZE, line)),
                             y, line);
                }
                HPDF_Page_SetGrayFill(d->page, 0.25f);
                for (size_t k = 0; k < en[i].n; k++, y -= HEAD_LEADING) {
                        const char *s = en[i].text + en[i].start[k];
                        char line[CL_PDF_CELL_MAX];

                        snprintf(line, sizeof(line), "%.*s", (int)en[i].len[k],
                                 s);
                        show(d, d->regular, HEAD_EN_SIZE,
                             align_x(
                                 col->align, x, col->width,
                                 cl_pdf_width(d->regular, HEAD_EN_SIZE, line)),
                             y, line);
                }
                HPDF_Page_SetGrayFill(d->page, 0.0f);
                x += col->width;
        }
        d->y -= height;
        hline(d, d->y, 0.6, 0.3);
}

void
cl_pdf_table_begin(struct cl_pdf_doc *d, const struct cl_pdf_table *t)
{
        /* Room for the heading and two rows, so a heading never ends a
           page on its own. */
        cl_pdf_need(d, 4 * HEAD_LEADING + 2 * CELL_LEADING + 12);
        if (!d->page)
                return;
        d->table = t;
        draw_table_head(d);
}

/* Fills c with the lines of one cell of column col. */
static void
layout_cell(struct cl_pdf_doc *d, const struct cl_pdf_col *col,
            const char *text, struct cell_lines *c)
{
        double w = text_room(col);
        struct width_ctx wc = {d->regular, CELL_SIZE};
        char clean[CL_PDF_CELL_MAX];

        if (col->wrap) {
                cl_text_sanitize(text, c->text, sizeof(c->text));
                break_lines(c, d->regular, CELL_SIZE, w);
                return;
        }
        cl_text_sanitize(text, clean, sizeof(clean));
        for (char *p = clean; *p; p++)
                if (*p == '\n')
                        *p = ' ';
        cl_text_ellipsize(clean, w, measure, &wc, c->text, sizeof(c->text));
        c->start[0] = 0;
        c->len[0] = strlen(c->text);
        c->n = c->len[0] > 0;
}

void
cl_pdf_table_row(struct cl_pdf_doc *d, const char *const *cells)
{
        const struct cl_pdf_table *t = d->table;
        struct cell_lines *c;
        size_t rows = 1;
        double x = CL_PDF_MARGIN, height;

        if (!t)
                return;
        c = malloc(t->n_cols * sizeof(*c));
        if (!c) {
                d->out_of_memory = 1;
                return;
        }
        for (size_t i = 0; i < t->n_cols; i++) {
                layout_cell(d, &t->cols[i], cells[i] ? cells[i] : "", &c[i]);
                if (c[i].n > rows)
                        rows = c[i].n;
        }
        height = rows * CELL_LEADING + 3;
        cl_pdf_need(d, height);
        if (!d->page)
                goto out;
        for (size_t i = 0; i < t->n_cols; i++) {
                double y = d->y - 1.5 - CELL_SIZE;

                for (size_t k = 0; k < c[i].n; k++, y -= CELL_LEADING) {
                        char line[CL_PDF_CELL_MAX];

                        snprintf(line, sizeof(line), "%.*s", (int)c[i].len[k],
                                 c[i].text + c[i].start[k]);
                        show(d, d->regular, CELL_SIZE,
                             align_x(t->cols[i].align, x, t->cols[i].width,
                                     cl_pdf_width(d->regular, CELL_SIZE, line)),
                             y, line);
                }
                x += t->cols[i].width;
        }
        d->y -= height;
        hline(d, d->y, 0.3, 0.75);
out:
        free(c);
}

void
cl_pdf_table_end(struct cl_pdf_doc *d)
{
        d->table = NULL;
        d->y -= 6;
}

static void
draw_header(struct cl_pdf_doc *d, const char *const header[3])
{
        char line[512];

        cl_text_sanitize(header[0], line, sizeof(line));
        show(d, d->bold, 12.5, CL_PDF_MARGIN, PAGE_HEIGHT - 40, line);
        HPDF_Page_SetGrayFill(d->page, 0.2f);
        cl_text_sanitize(header[1], line, sizeof(line));
        show(d, d->regular, 8, CL_PDF_MARGIN, PAGE_HEIGHT - 55, line);
        cl_text_sanitize(header[2], line, sizeof(line));
        show(d, d->regular, 8, CL_PDF_MARGIN, PAGE_HEIGHT - 66, line);
        HPDF_Page_SetGrayFill(d->page, 0.0f);
        hline(d, PAGE_HEIGHT - 73, 0.8, 0.2);
}

static void
draw_footer(struct cl_pdf_doc *d, size_t number, const char *left)
{
        struct width_ctx wc = {d->regular, 6.5};
        char line[512], page[512];
        double w;

        hline(d, 44, 0.5, 0.4);
        HPDF_Page_SetGrayFill(d->page, 0.3f);
        cl_text_sanitize(left, page, sizeof(page));
        cl_text_ellipsize(page, CL_PDF_CONTENT_WIDTH - 110, measure, &wc, line,
                          sizeof(line));
        show(d, d->regular, 6.5, CL_PDF_MARGIN, 33, line);
        snprintf(page, sizeof(page), "%zu / %zu %s  %s %zu / %zu", number,
                 d->n_pages, cl_pdf_text(d, "footer.page", CL_LANG_KO),
                 cl_pdf_text(d, "footer.page", CL_LANG_EN), number, d->n_pages);
        cl_text_sanitize(page, line, sizeof(line));
        w = cl_pdf_width(d->regular, 7.5, line);
        show(d, d->regular, 7.5, CL_PDF_MARGIN + CL_PDF_CONTENT_WIDTH - w, 33,
             line);
        HPDF_Page_SetGrayFill(d->page, 0.0f);
}

void
cl_pdf_finish_pages(struct cl_pdf_doc *d, const char *const header[3],
                    const char *footer_left)
{
        for (size_t i = 0; i < d->n_pages; i++) {
                d->page = d->pages[i];
                draw_header(d, header);
                draw_footer(d, i + 1, footer_left);
        }
}
