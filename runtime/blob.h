/* blob.h — the blob store: content named by a URI in an event.
 *
 * Events carry references to their content (a screenshot, an audio chunk),
 * not the content itself.  The blob store reads it:
 *
 *   file:///abs/path     a local file, anywhere the user can read
 *   path/in/base, x.png  relative to the base folder (`efc run --blobs DIR`,
 *                        else $EFC_BLOB_DIR, else the current directory);
 *                        it must stay inside the base: `..` or a symbolic
 *                        link leading out of it is refused
 *   s3://bucket/key      Amazon S3 (comes with the AWS work: a clear error)
 *
 * Only regular files are read (never a FIFO or a device, so a read cannot
 * block), and never more than a size limit: the caller's, or
 * $EFC_BLOB_MAX_BYTES, or BLOB_DEFAULT_MAX.  Every failure is a one-line
 * reason in `err`, meant for a dead-letter record.
 */
#ifndef EFC_BLOB_H
#define EFC_BLOB_H
#include <stddef.h>

#define BLOB_DEFAULT_MAX ((size_t)64 << 20)

struct blob {
  unsigned char *bytes;   /* the content, NUL-terminated (size excludes the NUL) */
  size_t size;
};

/* Sets the base folder of relative URIs (copied); NULL restores the default
 * ($EFC_BLOB_DIR, else the current directory). */
void blob_set_base(const char *dir);
/* The base folder in use (never NULL). */
const char *blob_base(void);
/* The size limit in use when the caller gives none. */
size_t blob_default_max(void);

/* Reads the content at `uri`, at most `max` bytes (0: the default limit).
 * 0 on success (free with blob_free); -1 with a reason in `err`. */
int blob_read(const char *uri, size_t max, struct blob *out, char *err, size_t err_size);
void blob_free(struct blob *b);

/* A MIME type recognised from the first bytes of content ("image/png",
 * "audio/wav", ...), or NULL. */
const char *blob_sniff_mime(const unsigned char *bytes, size_t size);
#endif
