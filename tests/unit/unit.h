/* unit.h: the smallest test harness that reports file:line and what differed.
 * Each test binary defines its cases and ends main() with UNIT_REPORT(). */
#ifndef UNIT_H
#define UNIT_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int unit_passed, unit_failed;

#define UNIT_CHECK(cond) do { \
	if (cond) unit_passed++; \
	else { unit_failed++; fprintf(stderr, "%s:%d: FAIL: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define UNIT_EQ_INT(got, want) do { \
	long long unit_g_ = (long long)(got), unit_w_ = (long long)(want); \
	if (unit_g_ == unit_w_) unit_passed++; \
	else { unit_failed++; fprintf(stderr, "%s:%d: FAIL: %s == %lld, want %lld\n", \
	    __FILE__, __LINE__, #got, unit_g_, unit_w_); } \
} while (0)

#define UNIT_EQ_STR(got, want) do { \
	const char *unit_g_ = (got), *unit_w_ = (want); \
	if (unit_g_ && unit_w_ && strcmp(unit_g_, unit_w_) == 0) unit_passed++; \
	else { unit_failed++; fprintf(stderr, "%s:%d: FAIL: %s == \"%s\", want \"%s\"\n", \
	    __FILE__, __LINE__, #got, unit_g_ ? unit_g_ : "(null)", unit_w_ ? unit_w_ : "(null)"); } \
} while (0)

/* Prints "<name>: N passed, M failed" and returns the process exit status. */
#define UNIT_REPORT(name) ( \
	printf("%s: %d passed, %d failed\n", (name), unit_passed, unit_failed), \
	unit_failed ? 1 : 0)

#endif
