/* pf_time.h: calendar arithmetic in UTC on plain integers (seconds since the
 * Unix epoch). Pure: no I/O, no clock reads, no locale, no timezone. */
#ifndef PF_TIME_H
#define PF_TIME_H

#include <stdint.h>
#include <stddef.h>

typedef int64_t pf_time;

#define PF_DAY_SECONDS ((pf_time)86400)
#define PF_RFC3339_LEN 21 /* "2026-11-26T03:45:17Z" plus NUL */

/* anchor + months calendar months, day clamped to the target month's length,
 * time of day kept: Jan 31 + 1 -> Feb 28/29, Jan 31 + 2 -> Mar 31 (never
 * drifting, because it is always computed from the anchor). months >= 0. */
pf_time pf_time_add_months(pf_time anchor, int months);

/* Largest k >= 0 with pf_time_add_months(anchor, k) <= t; 0 when t < anchor. */
int pf_time_period_index_at(pf_time anchor, pf_time t);

/* Writes "YYYY-MM-DDTHH:MM:SSZ" into buf (PF_RFC3339_LEN bytes). Returns 0, or
 * -1 when the year is outside 0001..9999. */
int pf_time_format(pf_time t, char buf[PF_RFC3339_LEN]);

/* Parses RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" (T or t, Z or
 * z); fractional seconds are truncated. Rejects out-of-range fields (month 13,
 * Feb 30, hour 24...) and trailing garbage. Returns 0 on success, -1 otherwise. */
int pf_time_parse(const char *s, pf_time *out);

/* 0 = Monday ... 6 = Sunday. */
int pf_time_weekday(pf_time t);

/* Start (00:00:00) of the UTC day containing t. */
pf_time pf_time_day_start(pf_time t);

/* The end (23:59:59) of the n-th business day (Monday-Friday, UTC, no
 * holidays) after the UTC day containing submitted_at. n >= 1.
 * Monday -> next Monday; Friday, Saturday, Sunday -> the Friday after (n = 5). */
pf_time pf_time_business_days_after(pf_time submitted_at, int n);

#endif
