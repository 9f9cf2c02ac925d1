/* views.h — the services behind the views, as providers.
 *
 * A view (summarizer, transcriber) reads the content an event points to
 * from the blob store and asks a provider to re-represent it.  A provider is
 * one struct of callbacks, so the AWS host can put Amazon Bedrock and Amazon
 * Transcribe where local runs use an OpenAI-compatible endpoint and
 * pocketsphinx.  Providers never crash or block without bound on a bad
 * service: every failure comes back as -1 and a one-line reason, which the
 * view turns into a dead-letter record.
 */
#ifndef EFC_VIEWS_H
#define EFC_VIEWS_H
#include <stddef.h>

/* What a view works on: the bytes at a URI and their type. */
struct view_content {
  const char *uri;
  const unsigned char *bytes;
  size_t size;
  const char *mime;            /* from the bytes, else the row's data.mime; NULL if unknown */
};

struct summarize_request {
  const char *prompt;
  const char *model;           /* the call's `model:`, or NULL for the provider's default */
  struct view_content content;
  int is_image;                /* 1: send as an image; 0: send as text */
};

struct summarizer_provider {
  const char *name;
  /* 0 and a summary (malloc'd, stored in *text), or -1 and a reason. */
  int (*summarize)(const struct summarize_request *req, char **text, char *err, size_t err_size);
  /* Releases what the provider keeps between calls; NULL if nothing. */
  void (*shutdown)(void);
};

struct transcribe_request {
  const char *language;        /* the call's `language:` (e.g. "en-US"), or NULL */
  struct view_content content;
};

struct transcriber_provider {
  const char *name;
  /* 0 and a transcript (malloc'd, "" for no speech), or -1 and a reason. */
  int (*transcribe)(const struct transcribe_request *req, char **text, char *err, size_t err_size);
  void (*shutdown)(void);
};

/* The local providers. */
extern const struct summarizer_provider summarizer_openai;        /* llm_openai.c */
extern const struct transcriber_provider transcriber_pocketsphinx; /* asr_pocketsphinx.c */

/* The providers the views use: the local ones unless a host chooses others
 * (NULL keeps the current one). */
void views_use(const struct summarizer_provider *summarizer, const struct transcriber_provider *transcriber);
const struct summarizer_provider *views_summarizer(void);
const struct transcriber_provider *views_transcriber(void);
/* Releases what the providers keep (connections, a loaded speech model).
 * Registered with atexit() the first time a view runs; safe to call twice. */
void views_shutdown(void);

/* ---- where the views read and write ---------------------------------------- */

/* Configuration of the host, given to the engine (engine_options.views) and
 * read by the view stages through stage_views(): blob and index locations
 * come from here, never from event data (design decision 12).  A name taken
 * from an event is resolved inside these folders and refused if it leaves
 * them (blob.h, view_indexer.c). */
struct views_config {
  const char *blob_root;       /* the folder blob names resolve in; NULL: reading blobs is refused */
  const char *index_dir;       /* the folder indexer() index names resolve in; NULL: indexing is refused */
};

/* The file of the index `name` (len bytes; a NUL inside is refused) in the
 * folder `dir` (NULL: none configured, refused): a plain file name, never a
 * path.  0 and the path in `path`, or -1 and the reason (view_indexer.c). */
int view_index_path(const char *dir, const char *name, size_t len, char *path, size_t size, char *err,
                    size_t err_size);

/* ---- shared by the view stages (views.c) ---------------------------------- */

struct stage_run;
struct json_object;

struct view_input {
  char *uri;                   /* owned */
  char *declared_mime;         /* the row's data.mime, owned; NULL if none */
  unsigned char *bytes;        /* the content, owned */
  struct view_content content; /* points into the above */
};

/* Reads what the view `view` works on: the content at argument `uri`, else
 * at the row's data.uri, inside the configured blob root.  0 on success (free with view_input_free); -1 when
 * the row was dead-lettered with the reason (the run goes on). */
int view_input_read(struct stage_run *run, struct json_object *row, const char *view, struct view_input *in);
void view_input_free(struct view_input *in);
/* Passes on a copy of `row` with `field` set to `text`. */
int view_continue(struct stage_run *run, struct json_object *row, const char *field, const char *text);
#endif
