/* json_memory.c: jansson's allocator, noting failures per thread. */
#include <stdlib.h>
#include <jansson.h>
#include "json_memory.h"

static _Thread_local bool ran_out;

static void *
noting_malloc(size_t size)
{
	void *p = malloc(size);

	if (p == NULL)
		ran_out = true;
	return p;
}

static void
plain_free(void *p)
{
	free(p);
}

void
json_memory_watch(void)
{
	json_set_alloc_funcs(noting_malloc, plain_free);
}

void
json_memory_reset(void)
{
	ran_out = false;
}

bool
json_memory_ran_out(void)
{
	return ran_out;
}
