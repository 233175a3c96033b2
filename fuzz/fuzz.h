/* fuzz.h: what every libFuzzer target here shares: the entry point's
 * prototype (the project builds with -Wmissing-prototypes) and an invariant
 * check that aborts, so a violated contract is a crash libFuzzer keeps. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_ASSERT(cond) do {                                              \
	if (!(cond)) {                                                      \
		fprintf(stderr, "%s:%d: invariant violated: %s\n",          \
		    __FILE__, __LINE__, #cond);                             \
		abort();                                                    \
	}                                                                   \
} while (0)

/* A NUL-terminated heap copy of data[0..size), sized exactly so that ASan
 * catches any read past the terminator. */
static inline char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	for (size_t i = 0; i < size; i++)
		s[i] = (char)data[i];
	s[size] = '\0';
	return s;
}

#endif
