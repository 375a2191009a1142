/*
 * UTF-8 text layout helpers for the PDF renderer: cleaning text down to
 * what an embedded TrueType font in libharu can show, breaking it into
 * lines of a given width, and shortening it with "..." to fit a table
 * cell. Widths come from a callback, so the helpers do not depend on
 * libharu and lines never end inside a UTF-8 character.
 */
#ifndef CL_PDF_TEXT_H
#define CL_PDF_TEXT_H

#include "err.h"

#include <stddef.h>

/*
 * Returns the width in points of the first len bytes of text, which end at
 * a character boundary.
 */
typedef double (*cl_text_width_fn)(const char *text, size_t len, void *ctx);

/*
 * Copies src into dst (size bytes, size > 0) and terminates it. Malformed
 * UTF-8, control characters other than '\n', and characters outside the
 * Basic Multilingual Plane (which libharu 2.3.0 cannot encode) become '?'.
 * The copy is cut at a character boundary when it does not fit. Returns
 * the length of dst in bytes.
 */
size_t cl_text_sanitize(const char *src, char *dst, size_t size);

/*
 * Finds the first line of text (len bytes of clean UTF-8) that fits
 * max_width points. The line ends before the last space that fits, at a
 * '\n', or, when one word alone is wider, at the last character boundary
 * that fits. A line has at least one character, so a caller always
 * progresses. Returns the line's length in bytes without trailing
 * spaces; *next receives the offset where the next line starts.
 */
size_t cl_text_break(const char *text, size_t len, double max_width,
                     cl_text_width_fn width, void *ctx, size_t *next);

/*
 * Writes text into dst (size bytes, size > 0) unchanged when it fits
 * max_width points, else its longest prefix that fits with "..." after
 * it. Returns 1 when the text was shortened, 0 when not.
 */
int cl_text_ellipsize(const char *text, double max_width,
                      cl_text_width_fn width, void *ctx, char *dst,
                      size_t size);

/*
 * Formats like snprintf into dst (size > 0). When the text does not fit,
 * it is cut at the last whole UTF-8 character, so a long name never ends
 * in a broken byte sequence. Returns 1 when the text was cut, 0 when not.
 */
int cl_text_printf(char *dst, size_t size, const char *fmt, ...)
    CL_PRINTF(3, 4);

#endif
