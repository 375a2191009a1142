/*
 * Page layout for the PDF report on top of libharu 2.3.0: A4 pages with
 * a running header and footer, bilingual section headings, wrapped
 * paragraphs and tables whose header repeats on every page. Internal to
 * pdf.c. Drawing functions return nothing: libharu reports failures to
 * the error handler, which records the first one in the document, and the
 * caller checks cl_pdf_failed() after each section.
 *
 * Coordinates are PDF points (1/72 inch) from the bottom-left corner.
 */
#ifndef CL_PDF_LAYOUT_H
#define CL_PDF_LAYOUT_H

#include "err.h"
#include "report_text.h"

#include <hpdf.h>
#include <stddef.h>

#define CL_PDF_MARGIN 42.0
#define CL_PDF_CONTENT_WIDTH (595.276 - 2 * CL_PDF_MARGIN)
/* Maximum length in bytes of a cell or paragraph; longer text is cut. */
#define CL_PDF_CELL_MAX 2048
#define CL_PDF_MAX_COLS 10

enum cl_pdf_align {
        CL_PDF_LEFT,
        CL_PDF_RIGHT,
};

/*
 * One table column. head is the key of its heading in report-text.json
 * (Korean line in bold, English line below). A wrapping column breaks its
 * text into lines; any other column shortens it with "...".
 */
struct cl_pdf_col {
        const char *head;
        double width;
        enum cl_pdf_align align;
        int wrap;
};

struct cl_pdf_table {
        const struct cl_pdf_col *cols;
        size_t n_cols;
};

struct cl_pdf_doc {
        HPDF_Doc pdf;
        HPDF_Font regular;
        HPDF_Font bold;
        HPDF_Page page;   /* the page being filled */
        HPDF_Page *pages; /* every page, in order */
        size_t n_pages;
        size_t cap_pages;
        double y; /* top of the free space on page, points */
        const struct cl_report_text *text;
        const struct cl_pdf_table *table; /* open table, or NULL */
        char missing_key[64]; /* first text key the file lacks, or "" */
        HPDF_STATUS error_no; /* first libharu error, or HPDF_OK */
        HPDF_STATUS detail_no;
        int out_of_memory;
};

/*
 * Creates the libharu document with its error handler, UTF-8 encoding and
 * both TrueType fonts embedded. On failure d holds nothing to free except
 * what cl_pdf_doc_free releases. Fails with CL_EIO naming a font file that
 * cannot be read, CL_ERENDER with the libharu error number, CL_ENOMEM.
 */
cl_err cl_pdf_doc_init(struct cl_pdf_doc *d, const char *font_path,
                       const char *bold_path,
                       const struct cl_report_text *text) CL_MUST_CHECK;

/* Frees the document and the page list; d may be partly initialised. */
void cl_pdf_doc_free(struct cl_pdf_doc *d);

/* Returns 1 when libharu reported an error, a text was missing or an
 * allocation failed. */
int cl_pdf_failed(const struct cl_pdf_doc *d);

/*
 * Returns the text of key in lang. A missing key returns "" and is
 * recorded in d->missing_key, which makes cl_pdf_failed() true.
 */
const char *cl_pdf_text(struct cl_pdf_doc *d, const char *key,
                        enum cl_lang lang);

/* Returns the width in points of text in font at size points. */
double cl_pdf_width(HPDF_Font font, double size, const char *text);

/* Starts a new page and moves the cursor below the header area. */
void cl_pdf_new_page(struct cl_pdf_doc *d);

/* Starts a new page unless height points are free above the footer. */
void cl_pdf_need(struct cl_pdf_doc *d, double height);

/* Moves the cursor down by height points. */
void cl_pdf_skip(struct cl_pdf_doc *d, double height);

/*
 * Draws a section heading: the Korean text of key in bold with the
 * English text beside it, after at least min_follow points of room for
 * what follows, so a heading never ends a page.
 */
void cl_pdf_heading(struct cl_pdf_doc *d, const char *key, double size,
                    double min_follow);

/*
 * Draws text as a paragraph over the content width, breaking lines at
 * spaces or, inside long words, at character boundaries. gray is the fill
 * level, 0 black to 1 white.
 */
void cl_pdf_paragraph(struct cl_pdf_doc *d, HPDF_Font font, double size,
                      double gray, const char *text);

/* Draws the heading of t and keeps t open, so a page break repeats it. */
void cl_pdf_table_begin(struct cl_pdf_doc *d, const struct cl_pdf_table *t);

/* Draws one row of the open table: cells[i] is the text of column i. */
void cl_pdf_table_row(struct cl_pdf_doc *d, const char *const *cells);

/* Closes the open table. */
void cl_pdf_table_end(struct cl_pdf_doc *d);

/*
 * Draws the running header (title, organisation and period lines) and the
 * footer (left text and "page N / M") on every page, once all pages exist.
 */
void cl_pdf_finish_pages(struct cl_pdf_doc *d, const char *const header[3],
                         const char *footer_left);

#endif
