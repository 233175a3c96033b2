/* json_memory.h: tells "jansson ran out of memory" from "the text is not
 * JSON". jansson 2.14 reports an allocation failure inside its parser as a
 * syntax error (an empty message, or "invalid token"), and json_error_code()
 * does not say out_of_memory there, so a client's valid body or token would
 * be refused with a 400 or 401 that is really our 500; worse, it can return
 * a document that lacks what it failed to allocate. jansson's allocator
 * is replaced by one that notes, per thread, when an allocation fails. */
#ifndef JSON_MEMORY_H
#define JSON_MEMORY_H

#include <stdbool.h>

/* Installs the noting allocator (json_set_alloc_funcs). Call once at start,
 * before jansson allocates anything. */
void json_memory_watch(void);

/* Forgets earlier failures of this thread; call before a parse. */
void json_memory_reset(void);

/* True when a jansson allocation of this thread failed since the last
 * json_memory_reset (always false unless json_memory_watch was called). */
bool json_memory_ran_out(void);

#endif
