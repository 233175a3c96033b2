/* json_text.h: compact JSON text of a jansson value, byte for byte what
 * json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY) writes, without its
 * per-call cost. Every response body and every stored JSON text (audit,
 * outbox, idempotency) goes through it.
 *
 * Why not json_dumps: jansson 2.14 guards against reference loops on every
 * call by formatting each container's address with snprintf("%p") into a
 * hash table it allocates per call; on GET /api/v1/account that was about
 * a sixth of the app's own CPU. Values built here never form loops; depth
 * is bounded instead. */
#ifndef JSON_TEXT_H
#define JSON_TEXT_H

#include <jansson.h>

/* Deeper values are refused: far beyond any body the service writes, and
 * beyond HTTP_JSON_DEPTH_MAX for the request bodies it stores. */
#define JSON_TEXT_DEPTH_MAX 64

/* A malloc'ed NUL-terminated text the caller frees, or NULL (as json_dumps
 * returns NULL) for NULL, a string that is not valid UTF-8, a value nested
 * deeper than JSON_TEXT_DEPTH_MAX, or no memory. */
char *json_text_compact(const json_t *value);

#endif
