/*
 * UTF-8 scanning, line breaking and ellipsis for PDF text. libharu's own
 * HPDF_Page_TextRect breaks only at ASCII spaces and HPDF_Page_MeasureText
 * may cut a multi-byte character, so the renderer lays out every line
 * with these functions and draws it with HPDF_Page_ShowText.
 */
#include "pdf_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ELLIPSIS "..."

/*
 * Returns the byte count of the valid BMP character at s (at most avail
 * bytes), or 0 when the bytes there are not one.
 */
static size_t
bmp_char_len(const unsigned char *s, size_t avail)
{
        unsigned int cp;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xC2 && s[0] <= 0xDF) {
                if (avail < 2 || (s[1] & 0xC0) != 0x80)
                        return 0;
                return 2;
        }
        if (s[0] >= 0xE0 && s[0] <= 0xEF) {
                if (avail < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
                        return 0;
                cp = ((s[0] & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) |
                     (s[2] & 0x3Fu);
                /* Overlong forms and UTF-16 surrogates are not characters. */
                if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))
                        return 0;
                return 3;
        }
        return 0;
}

/* Returns the length of the clean UTF-8 character at text + i. */
static size_t
char_len(const char *text, size_t len, size_t i)
{
        size_t n = bmp_char_len((const unsigned char *)text + i, len - i);

        return n ? n : 1;
}

/* Skips the rest of a malformed or non-BMP sequence after its lead byte. */
static size_t
skip_sequence(const unsigned char *s, size_t i)
{
        i++;
        while (s[i] != '\0' && (s[i] & 0xC0) == 0x80)
                i++;
        return i;
}

size_t
cl_text_sanitize(const char *src, char *dst, size_t size)
{
        const unsigned char *s = (const unsigned char *)src;
        size_t avail = strlen(src);
        size_t in = 0, out = 0;

        while (in < avail) {
                size_t n = bmp_char_len(s + in, avail - in);

                if (n == 0 || (n == 1 && s[in] < 0x20 && s[in] != '\n') ||
                    s[in] == 0x7F) {
                        if (out + 1 >= size)
                                break;
                        dst[out++] = '?';
                        in = n == 0 ? skip_sequence(s, in) : in + 1;
                        continue;
                }
                if (out + n >= size)
                        break;
                memcpy(dst + out, s + in, n);
                out += n;
                in += n;
        }
        dst[out] = '\0';
        return out;
}

/* Returns len without the spaces at its end. */
static size_t
trim_end(const char *text, size_t len)
{
        while (len > 0 && text[len - 1] == ' ')
                len--;
        return len;
}

size_t
cl_text_break(const char *text, size_t len, double max_width,
              cl_text_width_fn width, void *ctx, size_t *next)
{
        size_t i = 0, fit = 0, last_space = 0;

        while (i < len) {
                size_t n;

                if (text[i] == '\n') {
                        *next = i + 1;
                        return trim_end(text, i);
                }
                n = char_len(text, len, i);
                if (fit > 0 && width(text, i + n, ctx) > max_width)
                        break;
                if (text[i] == ' ')
                        last_space = i;
                i += n;
                fit = i;
        }
        if (i < len && last_space > 0 && text[i] != ' ')
                fit = last_space;
        *next = fit;
        while (*next < len && text[*next] == ' ')
                (*next)++;
        return trim_end(text, fit);
}

int
cl_text_ellipsize(const char *text, double max_width, cl_text_width_fn width,
                  void *ctx, char *dst, size_t size)
{
        size_t len = strlen(text);
        size_t i = 0, fit = 0;
        double dots = width(ELLIPSIS, strlen(ELLIPSIS), ctx);

        if (width(text, len, ctx) <= max_width && len < size) {
                memcpy(dst, text, len + 1);
                return 0;
        }
        while (i < len) {
                size_t n = char_len(text, len, i);

                if (i + n + strlen(ELLIPSIS) >= size ||
                    width(text, i + n, ctx) + dots > max_width)
                        break;
                i += n;
                fit = i;
        }
        fit = trim_end(text, fit);
        memcpy(dst, text, fit);
        if (fit + strlen(ELLIPSIS) < size)
                memcpy(dst + fit, ELLIPSIS, strlen(ELLIPSIS) + 1);
        else
                dst[fit] = '\0';
        return 1;
}

int
cl_text_printf(char *dst, size_t size, const char *fmt, ...)
{
        va_list ap;
        int n;
        size_t end, lead;

        va_start(ap, fmt);
        n = vsnprintf(dst, size, fmt, ap);
        va_end(ap);
        if (n < 0) {
                dst[0] = '\0';
                return 1;
        }
        if ((size_t)n < size)
                return 0;
        /* Drop a character whose bytes were cut off at the end. */
        end = size - 1;
        lead = end;
        while (lead > 0 && ((unsigned char)dst[lead - 1] & 0xC0) == 0x80)
                lead--;
        if (lead > 0 && (unsigned char)dst[lead - 1] >= 0xC0) {
                unsigned char c = (unsigned char)dst[lead - 1];
                size_t need = 2;

                if (c >= 0xF0)
                        need = 4;
                else if (c >= 0xE0)
                        need = 3;

                if (end - (lead - 1) < need)
                        end = lead - 1;
        }
        dst[end] = '\0';
        return 1;
}
