/* unit_time.h: the time literals of the unit tests. Include after unit.h. */
#ifndef UNIT_TIME_H
#define UNIT_TIME_H

#include <stdint.h>
#include "pf_time.h"

/* Parses a literal the test relies on; a typo in the test shows up as a
 * sentinel that no expected value can match, plus its own failure line. */
static inline pf_time
at(const char *s)
{
	pf_time t;

	if (pf_time_parse(s, &t) != 0) {
		fprintf(stderr, "test literal does not parse: %s\n", s);
		unit_failed++;
		return INT64_MIN;
	}
	return t;
}

#endif
