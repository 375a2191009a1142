/*
 * Small file helpers shared by the collector and the pipeline: bounded reads
 * of sysfs and procfs attributes, whole-file reads, and the write-to-a-
 * temporary-name-then-rename sequence every report file goes through.
 */
#ifndef CL_FSUTIL_H
#define CL_FSUTIL_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Reads at most size - 1 bytes of path into buf and terminates it. Fails
 * with CL_EIO naming the path and errno text, or CL_EFORMAT when the file
 * does not fit (its content would be cut).
 */
cl_err cl_read_small(const char *path, char *buf, size_t size) CL_MUST_CHECK;

/*
 * Reads the whole of path into a new buffer with a terminating NUL. On
 * success *out is owned by the caller (free()) and *len is the byte count
 * without the NUL. Files larger than max_bytes fail with CL_EFORMAT, and
 * anything but a regular file with CL_EIO.
 */
cl_err cl_read_file(const char *path, size_t max_bytes, char **out,
                    size_t *len) CL_MUST_CHECK;

/*
 * Parses a decimal unsigned 64-bit integer that fills text except for
 * surrounding white space. Fails with CL_EFORMAT on anything else,
 * naming what (a short description of the value) in the message.
 */
cl_err cl_parse_u64(const char *text, const char *what,
                    uint64_t *out) CL_MUST_CHECK;

/*
 * Writes the name of the temporary file for final into buf: the same
 * folder, a leading dot and a ".tmp" suffix, so readers that list the
 * folder never take it for a finished report.
 */
cl_err cl_tmp_path(const char *final, char *buf, size_t size) CL_MUST_CHECK;

/*
 * Writes len bytes to path (created with mode 0644, truncated), fsyncs and
 * closes it.
 */
cl_err cl_write_file(const char *path, const void *data,
                     size_t len) CL_MUST_CHECK;

/*
 * Fsyncs tmp, renames it to final and fsyncs the folder of final. Names
 * both paths in the message on failure.
 */
cl_err cl_commit_file(const char *tmp, const char *final) CL_MUST_CHECK;

/* Joins dir and name with one slash into buf; fails when it does not fit. */
cl_err cl_path_join(char *buf, size_t size, const char *dir,
                    const char *name) CL_MUST_CHECK;

#endif
