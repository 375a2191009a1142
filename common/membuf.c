/*
 * Bounded growing buffers for response bodies.
 */
#include "membuf.h"

#include <stdlib.h>
#include <string.h>

int
cl_membuf_append(struct cl_membuf *b, const void *ptr, size_t n)
{
        if (n > b->max || b->len > b->max - n) {
                b->too_large = 1;
                return -1;
        }
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 16384;
                char *grown;

                while (cap < b->len + n + 1)
                        cap *= 2;
                grown = realloc(b->data, cap);
                if (grown == NULL)
                        return -1;
                b->data = grown;
                b->cap = cap;
        }
        memcpy(b->data + b->len, ptr, n);
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
}

size_t
cl_membuf_curl_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        size_t n = size * nmemb;

        return cl_membuf_append(userdata, ptr, n) == 0 ? n : 0;
}
