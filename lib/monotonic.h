/* monotonic.h: the monotonic clock in milliseconds and microseconds, for
 * deadlines and durations (never for dates: that is pf_time.h). */
#ifndef MONOTONIC_H
#define MONOTONIC_H

#include <time.h>

static inline long long
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline long long
monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif
