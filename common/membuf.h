/*
 * A growing byte buffer with a size limit, for HTTP response bodies. The
 * data is always NUL-terminated, so text parsers can read it directly.
 */
#ifndef CL_MEMBUF_H
#define CL_MEMBUF_H

#include <stddef.h>

struct cl_membuf {
        char *data;    /* owned; free() it; NULL until the first byte */
        size_t len;    /* bytes stored, without the NUL */
        size_t cap;    /* bytes allocated */
        size_t max;    /* maximum bytes accepted */
        int too_large; /* 1 once an append would exceed max */
};

/*
 * Appends n bytes. Returns 0, or -1 when the buffer would exceed max (and
 * too_large is set) or memory runs out; nothing is appended then.
 */
int cl_membuf_append(struct cl_membuf *b, const void *ptr, size_t n);

/*
 * A libcurl CURLOPT_WRITEFUNCTION that appends to the struct cl_membuf
 * passed as CURLOPT_WRITEDATA. Returns the bytes taken; fewer than offered
 * makes libcurl stop the transfer with CURLE_WRITE_ERROR.
 */
size_t cl_membuf_curl_write(char *ptr, size_t size, size_t nmemb,
                            void *userdata);

#endif
