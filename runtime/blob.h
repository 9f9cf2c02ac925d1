/* blob.h — the blob store: content named in an event, read inside a root.
 *
 * Events carry references to their content (a screenshot, an audio chunk),
 * not the content itself.  Where that content lives is configuration (the
 * host's blob root: `efc run --blobs DIR`, `efc serve --blob-root DIR`),
 * never event data (design decision 12): a name taken from an event is
 * resolved inside the root and refused if it leaves it.
 *
 *   path/in/root, x.png   relative to the root; `..` components and symbolic
 *                         links that lead out of the root are refused
 *   file:///abs/path      accepted only when the path is inside the root
 *   /abs/path             the same as file:// (inside the root, or refused)
 *   s3://bucket/key       Amazon S3 (comes with the AWS work: a clear error)
 *
 * Empty names, names with a NUL byte and names of PATH_MAX bytes or more
 * are refused.  Only regular files are read (never a FIFO or a device, so a
 * read cannot block), and never more than a size limit: the caller's, or
 * $EFC_BLOB_MAX_BYTES, or BLOB_DEFAULT_MAX.  Every failure is a one-line
 * reason in `err`, meant for a dead-letter record; a refused name gets the
 * same reason whether or not the file it points to exists.
 */
#ifndef EFC_BLOB_H
#define EFC_BLOB_H
#include <stddef.h>

#define BLOB_DEFAULT_MAX ((size_t)64 << 20)

struct blob {
  unsigned char *bytes;   /* the content, NUL-terminated (size excludes the NUL) */
  size_t size;
};

/* The size limit in use when the caller gives none. */
size_t blob_default_max(void);

/* Opens the blob `name` (name_len bytes, which may hold a NUL: it is then
 * refused) inside the folder `root` (NULL: no root configured, refused).
 * An open read-only descriptor of the file (close it), or -1 with a reason
 * in `err`. */
int blob_open(const char *root, const char *name, size_t name_len, char *err, size_t err_size);

/* Reads the blob `name` inside `root`, at most `max` bytes (0: the default
 * limit).  0 on success (free with blob_free); -1 with a reason in `err`. */
int blob_read(const char *root, const char *name, size_t name_len, size_t max, struct blob *out, char *err,
              size_t err_size);
void blob_free(struct blob *b);

/* A MIME type recognised from the first bytes of content ("image/png",
 * "audio/wav", ...), or NULL. */
const char *blob_sniff_mime(const unsigned char *bytes, size_t size);

/* For tests: 1 makes blob_open resolve names as on a kernel without
 * openat2 (the /proc/self/fd check), 0 restores the normal choice. */
void blob_test_without_openat2(int on);
#endif
