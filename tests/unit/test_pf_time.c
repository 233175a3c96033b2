/* test_pf_time.c: boundary tests for the UTC calendar arithmetic. Expected
 * values are written out as RFC 3339 strings so a failure reads as a date. */
#include <limits.h>
#include "pf_time.h"
#include "unit.h"
#include "unit_time.h"

/* Rotating buffers so one assertion may format two times. */
static const char *
fmt(pf_time t)
{
	static char bufs[8][PF_RFC3339_LEN];
	static int next;
	char *b = bufs[next++ % 8];

	if (pf_time_format(t, b) != 0)
		return "(unformattable)";
	return b;
}

#define EQ_TIME(got, want) UNIT_EQ_STR(fmt(got), (want))
#define ADD(anchor, k) pf_time_add_months(at(anchor), (k))

static int
naive_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
naive_dim(int y, int m)
{
	static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && naive_leap(y) ? 29 : len[m - 1];
}

/* Deterministic pseudo-random numbers for the property checks. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static int64_t
rng_range(int64_t lo, int64_t hi)
{
	rng_state = rng_state * 6364136223846793005u + 1442695040888963407u;
	return lo + (int64_t)((rng_state >> 11) % (uint64_t)(hi - lo + 1));
}

static void
test_add_months_clamping(void)
{
	/* Jan 31 anchor: every month clamps from the anchor, never from the
	 * previous (already clamped) result. */
	EQ_TIME(ADD("2026-01-31T10:20:30Z", 0), "2026-01-31T10:20:30Z");
	EQ_TIME(ADD("2026-01-31T10:20:30Z", 1), "2026-02-28T10:20:30Z");
	EQ_TIME(ADD("2026-01-31T10:20:30Z", 2), "2026-03-31T10:20:30Z");
	EQ_TIME(ADD("2026-01-31T10:20:30Z", 3), "2026-04-30T10:20:30Z");
	EQ_TIME(ADD("2026-01-31T10:20:30Z", 4), "2026-05-31T10:20:30Z");
	EQ_TIME(ADD("2026-01-31T10:20:30Z", 5), "2026-06-30T10:20:30Z");
	EQ_TIME(ADD("2026-01-31T10:20:30Z", 6), "2026-07-31T10:20:30Z");
	EQ_TIME(ADD("2026-01-31T10:20:30Z", 7), "2026-08-31T10:20:30Z");
	EQ_TIME(ADD("2026-01-31T10:20:30Z", 8), "2026-09-30T10:20:30Z");
	EQ_TIME(ADD("2026-01-31T10:20:30Z", 9), "2026-10-31T10:20:30Z");
	EQ_TIME(ADD("2026-01-31T10:20:30Z", 10), "2026-11-30T10:20:30Z");
	EQ_TIME(ADD("2026-01-31T10:20:30Z", 11), "2026-12-31T10:20:30Z");
	EQ_TIME(ADD("2026-01-31T10:20:30Z", 12), "2027-01-31T10:20:30Z");
	EQ_TIME(ADD("2026-01-31T10:20:30Z", 13), "2027-02-28T10:20:30Z");
	EQ_TIME(ADD("2026-01-31T10:20:30Z", 25), "2028-02-29T10:20:30Z");
	EQ_TIME(ADD("2026-01-31T10:20:30Z", 26), "2028-03-31T10:20:30Z");

	/* Jan 31 -> Feb 28 (2027) / Feb 29 (2028) -> Mar 31. */
	EQ_TIME(ADD("2027-01-31T00:00:00Z", 1), "2027-02-28T00:00:00Z");
	EQ_TIME(ADD("2027-01-31T00:00:00Z", 2), "2027-03-31T00:00:00Z");
	EQ_TIME(ADD("2028-01-31T00:00:00Z", 1), "2028-02-29T00:00:00Z");
	EQ_TIME(ADD("2028-01-31T00:00:00Z", 2), "2028-03-31T00:00:00Z");

	/* Anchor day 29. */
	EQ_TIME(ADD("2027-01-29T08:00:00Z", 1), "2027-02-28T08:00:00Z");
	EQ_TIME(ADD("2027-01-29T08:00:00Z", 2), "2027-03-29T08:00:00Z");
	EQ_TIME(ADD("2028-01-29T08:00:00Z", 1), "2028-02-29T08:00:00Z");
	EQ_TIME(ADD("2028-01-29T08:00:00Z", 2), "2028-03-29T08:00:00Z");
	EQ_TIME(ADD("2028-02-29T08:00:00Z", 12), "2029-02-28T08:00:00Z");
	EQ_TIME(ADD("2028-02-29T08:00:00Z", 13), "2029-03-29T08:00:00Z");
	EQ_TIME(ADD("2028-02-29T08:00:00Z", 48), "2032-02-29T08:00:00Z");

	/* Anchor day 30. */
	EQ_TIME(ADD("2027-01-30T23:59:59Z", 1), "2027-02-28T23:59:59Z");
	EQ_TIME(ADD("2027-01-30T23:59:59Z", 2), "2027-03-30T23:59:59Z");
	EQ_TIME(ADD("2027-01-30T23:59:59Z", 3), "2027-04-30T23:59:59Z");
	EQ_TIME(ADD("2028-01-30T23:59:59Z", 1), "2028-02-29T23:59:59Z");

	/* Anchor day 31 into every 30-day month. */
	EQ_TIME(ADD("2026-03-31T12:00:00Z", 1), "2026-04-30T12:00:00Z");
	EQ_TIME(ADD("2026-03-31T12:00:00Z", 2), "2026-05-31T12:00:00Z");
	EQ_TIME(ADD("2026-05-31T12:00:00Z", 1), "2026-06-30T12:00:00Z");
	EQ_TIME(ADD("2026-08-31T12:00:00Z", 1), "2026-09-30T12:00:00Z");
	EQ_TIME(ADD("2026-10-31T12:00:00Z", 1), "2026-11-30T12:00:00Z");
	EQ_TIME(ADD("2026-07-31T12:00:00Z", 1), "2026-08-31T12:00:00Z");

	/* Days that fit every month never move. */
	EQ_TIME(ADD("2026-01-28T01:02:03Z", 1), "2026-02-28T01:02:03Z");
	EQ_TIME(ADD("2026-01-01T00:00:00Z", 1), "2026-02-01T00:00:00Z");
}

static void
test_add_months_year_roll_and_leap(void)
{
	/* December to January rolls the year. */
	EQ_TIME(ADD("2026-12-15T00:00:00Z", 1), "2027-01-15T00:00:00Z");
	EQ_TIME(ADD("2026-12-31T00:00:00Z", 1), "2027-01-31T00:00:00Z");
	EQ_TIME(ADD("2026-12-31T00:00:00Z", 2), "2027-02-28T00:00:00Z");
	EQ_TIME(ADD("2026-11-30T00:00:00Z", 2), "2027-01-30T00:00:00Z");
	EQ_TIME(ADD("2026-12-15T00:00:00Z", 12), "2027-12-15T00:00:00Z");
	EQ_TIME(ADD("2026-12-15T00:00:00Z", 13), "2028-01-15T00:00:00Z");
	EQ_TIME(ADD("2026-12-15T00:00:00Z", 120), "2036-12-15T00:00:00Z");
	EQ_TIME(ADD("9999-11-30T00:00:00Z", 1), "9999-12-30T00:00:00Z");

	/* Leap years: 1900 and 2100 are not (century), 2000 is (400), 2024 is. */
	EQ_TIME(ADD("1900-01-31T00:00:00Z", 1), "1900-02-28T00:00:00Z");
	EQ_TIME(ADD("2000-01-31T00:00:00Z", 1), "2000-02-29T00:00:00Z");
	EQ_TIME(ADD("2024-01-31T00:00:00Z", 1), "2024-02-29T00:00:00Z");
	EQ_TIME(ADD("2100-01-31T00:00:00Z", 1), "2100-02-28T00:00:00Z");
	EQ_TIME(ADD("2023-01-31T00:00:00Z", 1), "2023-02-28T00:00:00Z");
	EQ_TIME(ADD("2024-02-29T00:00:00Z", 12), "2025-02-28T00:00:00Z");
	EQ_TIME(ADD("2024-02-29T00:00:00Z", 48), "2028-02-29T00:00:00Z");
	EQ_TIME(ADD("1896-02-29T00:00:00Z", 48), "1900-02-28T00:00:00Z");
	EQ_TIME(ADD("1996-02-29T00:00:00Z", 48), "2000-02-29T00:00:00Z");

	/* Before the epoch the time of day must survive floor division. */
	EQ_TIME(ADD("1969-12-31T23:59:59Z", 1), "1970-01-31T23:59:59Z");
	EQ_TIME(ADD("1969-01-31T12:00:00Z", 1), "1969-02-28T12:00:00Z");
	EQ_TIME(ADD("0001-01-31T00:00:01Z", 1), "0001-02-28T00:00:01Z");

	/* Out of range: saturates, never wraps. */
	UNIT_EQ_INT(pf_time_add_months(INT64_MAX, 1), INT64_MAX);
	UNIT_EQ_INT(pf_time_add_months(INT64_MAX - PF_DAY_SECONDS * 40, 2), INT64_MAX);
	UNIT_EQ_INT(pf_time_add_months(INT64_MIN, 0), INT64_MIN);
	UNIT_CHECK(pf_time_add_months(0, INT_MAX) > 0);
}

static void
test_add_months_property(void)
{
	int bad = 0;

	/* Every day of 1999..2030 as anchor, 0..40 months ahead: day is
	 * min(anchor day, month length), time of day kept, month advanced. */
	for (pf_time a = at("1999-01-01T07:08:09Z"); a < at("2031-01-01T00:00:00Z");
	    a += PF_DAY_SECONDS) {
		char want[64]; /* roomy: snprintf's truncation check sees int ranges */
		const char *s = fmt(a);
		int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
		int m = (s[5] - '0') * 10 + (s[6] - '0');
		int d = (s[8] - '0') * 10 + (s[9] - '0');

		for (int k = 0; k <= 40; k++) {
			int mi = y * 12 + (m - 1) + k;
			int ty = mi / 12, tm = mi % 12 + 1;
			int td = d < naive_dim(ty, tm) ? d : naive_dim(ty, tm);

			snprintf(want, sizeof(want), "%04d-%02d-%02dT07:08:09Z", ty, tm, td);
			if (strcmp(fmt(pf_time_add_months(a, k)), want) != 0)
				bad++;
		}
	}
	UNIT_EQ_INT(bad, 0);
}

static void
test_period_index(void)
{
	pf_time a = at("2026-01-31T10:00:00Z");
	int bad = 0;

	UNIT_EQ_INT(pf_time_period_index_at(a, a - 1), 0);
	UNIT_EQ_INT(pf_time_period_index_at(a, a - 400 * PF_DAY_SECONDS), 0);
	UNIT_EQ_INT(pf_time_period_index_at(a, INT64_MIN), 0);
	UNIT_EQ_INT(pf_time_period_index_at(a, a), 0);
	UNIT_EQ_INT(pf_time_period_index_at(a, at("2026-02-28T09:59:59Z")), 0);
	UNIT_EQ_INT(pf_time_period_index_at(a, at("2026-02-28T10:00:00Z")), 1);
	UNIT_EQ_INT(pf_time_period_index_at(a, at("2026-03-31T09:59:59Z")), 1);
	UNIT_EQ_INT(pf_time_period_index_at(a, at("2026-03-31T10:00:00Z")), 2);
	UNIT_EQ_INT(pf_time_period_index_at(a, at("2026-04-30T09:59:59Z")), 2);
	UNIT_EQ_INT(pf_time_period_index_at(a, at("2026-04-30T10:00:00Z")), 3);
	UNIT_EQ_INT(pf_time_period_index_at(a, at("2027-01-31T10:00:00Z")), 12);
	UNIT_EQ_INT(pf_time_period_index_at(a, at("2028-02-29T09:59:59Z")), 24);
	UNIT_EQ_INT(pf_time_period_index_at(a, at("2028-02-29T10:00:00Z")), 25);

	/* t is in the anchor's month-of-year but earlier in the month. */
	a = at("2026-01-15T12:00:00Z");
	UNIT_EQ_INT(pf_time_period_index_at(a, at("2026-03-15T11:59:59Z")), 1);
	UNIT_EQ_INT(pf_time_period_index_at(a, at("2026-03-15T12:00:00Z")), 2);
	UNIT_EQ_INT(pf_time_period_index_at(a, at("2026-03-31T23:59:59Z")), 2);
	UNIT_EQ_INT(pf_time_period_index_at(a, at("2026-03-01T00:00:00Z")), 1);
	UNIT_EQ_INT(pf_time_period_index_at(a, at("2026-12-31T23:59:59Z")), 11);
	UNIT_EQ_INT(pf_time_period_index_at(a, at("2027-01-15T11:59:59Z")), 11);
	UNIT_EQ_INT(pf_time_period_index_at(a, at("2027-01-15T12:00:00Z")), 12);

	/* Clamped February of a non-leap year. */
	a = at("2027-01-31T00:00:00Z");
	UNIT_EQ_INT(pf_time_period_index_at(a, at("2027-02-27T23:59:59Z")), 0);
	UNIT_EQ_INT(pf_time_period_index_at(a, at("2027-02-28T00:00:00Z")), 1);
	UNIT_EQ_INT(pf_time_period_index_at(a, at("2027-03-30T23:59:59Z")), 1);
	UNIT_EQ_INT(pf_time_period_index_at(a, at("2027-03-31T00:00:00Z")), 2);

	/* Exact boundaries: t == start of period k is k; one second before is
	 * k - 1; the last second of period k is still k. */
	a = at("2026-01-31T10:00:00Z");
	for (int k = 0; k <= 120; k++) {
		pf_time start = pf_time_add_months(a, k);
		pf_time next = pf_time_add_months(a, k + 1);

		if (pf_time_period_index_at(a, start) != k)
			bad++;
		if (k > 0 && pf_time_period_index_at(a, start - 1) != k - 1)
			bad++;
		if (pf_time_period_index_at(a, next - 1) != k)
			bad++;
	}
	UNIT_EQ_INT(bad, 0);

	/* Random anchors and times between 1900 and 2100. */
	bad = 0;
	for (int i = 0; i < 200000; i++) {
		pf_time an = rng_range(at("1900-01-01T00:00:00Z"), at("2100-01-01T00:00:00Z"));
		pf_time t = rng_range(an, an + 50 * 366 * PF_DAY_SECONDS);
		int k = pf_time_period_index_at(an, t);

		if (k < 0 || pf_time_add_months(an, k) > t || pf_time_add_months(an, k + 1) <= t)
			bad++;
	}
	UNIT_EQ_INT(bad, 0);

	/* Far future: clamps to INT_MAX instead of overflowing int. */
	UNIT_EQ_INT(pf_time_period_index_at(0, INT64_MAX), INT_MAX);
}

static void
test_format(void)
{
	char buf[PF_RFC3339_LEN];

	UNIT_EQ_INT(pf_time_format(0, buf), 0);
	UNIT_EQ_STR(buf, "1970-01-01T00:00:00Z");
	UNIT_EQ_INT(pf_time_format(1795664717, buf), 0);
	UNIT_EQ_STR(buf, "2026-11-26T03:45:17Z");
	UNIT_EQ_INT(strlen(buf), PF_RFC3339_LEN - 1);
	UNIT_EQ_INT(pf_time_format(-1, buf), 0);
	UNIT_EQ_STR(buf, "1969-12-31T23:59:59Z");
	UNIT_EQ_INT(pf_time_format(946684800, buf), 0);
	UNIT_EQ_STR(buf, "2000-01-01T00:00:00Z");
	UNIT_EQ_INT(pf_time_format(1709164800, buf), 0);
	UNIT_EQ_STR(buf, "2024-02-29T00:00:00Z");
	UNIT_EQ_INT(pf_time_format(-2203977600, buf), 0);
	UNIT_EQ_STR(buf, "1900-02-28T00:00:00Z");
	UNIT_EQ_INT(pf_time_format(-2203977600 + PF_DAY_SECONDS, buf), 0);
	UNIT_EQ_STR(buf, "1900-03-01T00:00:00Z");

	/* The year range 0001..9999, both ends inclusive. */
	UNIT_EQ_INT(pf_time_format(-62135596800, buf), 0);
	UNIT_EQ_STR(buf, "0001-01-01T00:00:00Z");
	UNIT_EQ_INT(pf_time_format(253402300799, buf), 0);
	UNIT_EQ_STR(buf, "9999-12-31T23:59:59Z");
	UNIT_EQ_INT(pf_time_format(-62135596801, buf), -1);
	UNIT_EQ_STR(buf, "");
	UNIT_EQ_INT(pf_time_format(253402300800, buf), -1);
	UNIT_EQ_STR(buf, "");
	UNIT_EQ_INT(pf_time_format(INT64_MAX, buf), -1);
	UNIT_EQ_INT(pf_time_format(INT64_MIN, buf), -1);
}

static void
test_parse_accepts(void)
{
	pf_time t;

	UNIT_EQ_INT(pf_time_parse("2026-11-26T03:45:17Z", &t), 0);
	UNIT_EQ_INT(t, 1795664717);
	UNIT_EQ_INT(pf_time_parse("2026-11-26t03:45:17z", &t), 0);
	UNIT_EQ_INT(t, 1795664717);
	UNIT_EQ_INT(pf_time_parse("1970-01-01T00:00:00Z", &t), 0);
	UNIT_EQ_INT(t, 0);
	UNIT_EQ_INT(pf_time_parse("1969-12-31T23:59:59Z", &t), 0);
	UNIT_EQ_INT(t, -1);

	/* Fractions are truncated, never rounded up into the next second. */
	UNIT_EQ_INT(pf_time_parse("2026-11-26T03:45:17.5Z", &t), 0);
	UNIT_EQ_INT(t, 1795664717);
	UNIT_EQ_INT(pf_time_parse("2026-11-26T03:45:17.999999999Z", &t), 0);
	UNIT_EQ_INT(t, 1795664717);
	UNIT_EQ_INT(pf_time_parse("2026-11-26T03:45:17.000+00:00", &t), 0);
	UNIT_EQ_INT(t, 1795664717);
	UNIT_EQ_INT(pf_time_parse("1969-12-31T23:59:59.9Z", &t), 0);
	UNIT_EQ_INT(t, -1);

	/* Offsets: local = UTC + offset. */
	UNIT_EQ_INT(pf_time_parse("2026-11-26T05:45:17+02:00", &t), 0);
	UNIT_EQ_INT(t, 1795664717);
	UNIT_EQ_INT(pf_time_parse("2026-11-25T22:15:17-05:30", &t), 0);
	UNIT_EQ_INT(t, 1795664717);
	UNIT_EQ_INT(pf_time_parse("2026-11-26T03:45:17+00:00", &t), 0);
	UNIT_EQ_INT(t, 1795664717);
	UNIT_EQ_INT(pf_time_parse("2026-11-26T03:45:17-00:00", &t), 0);
	UNIT_EQ_INT(t, 1795664717);
	UNIT_EQ_INT(pf_time_parse("2026-11-27T03:44:17+23:59", &t), 0);
	UNIT_EQ_INT(t, 1795664717);
	UNIT_EQ_INT(pf_time_parse("2026-11-26T05:45:17.75+02:00", &t), 0);
	UNIT_EQ_INT(t, 1795664717);
	/* An offset can move the UTC instant across a day and a year. */
	EQ_TIME(at("2027-01-01T01:00:00+02:00"), "2026-12-31T23:00:00Z");
	EQ_TIME(at("2026-12-31T23:00:00-02:00"), "2027-01-01T01:00:00Z");
	EQ_TIME(at("2028-03-01T00:30:00+01:00"), "2028-02-29T23:30:00Z");

	/* Leap days that exist. */
	EQ_TIME(at("2028-02-29T00:00:00Z"), "2028-02-29T00:00:00Z");
	EQ_TIME(at("2000-02-29T12:00:00Z"), "2000-02-29T12:00:00Z");
	EQ_TIME(at("2024-02-29T23:59:59Z"), "2024-02-29T23:59:59Z");
	/* Extremes of each field. */
	EQ_TIME(at("2026-12-31T23:59:59Z"), "2026-12-31T23:59:59Z");
	EQ_TIME(at("0001-01-01T00:00:00Z"), "0001-01-01T00:00:00Z");
	EQ_TIME(at("9999-12-31T23:59:59Z"), "9999-12-31T23:59:59Z");
	/* Parses, but lands outside what format can write. */
	UNIT_EQ_INT(pf_time_parse("0001-01-01T00:00:00+01:00", &t), 0);
	UNIT_EQ_INT(t, -62135596800 - 3600);
	UNIT_EQ_INT(pf_time_parse("9999-12-31T23:59:59-00:01", &t), 0);
	UNIT_EQ_INT(t, 253402300799 + 60);
}

static void
test_parse_rejects(void)
{
	static const char *const bad[] = {
		"",
		"2026-13-01T00:00:00Z",       /* month 13 */
		"2026-00-10T00:00:00Z",       /* month 0 */
		"2026-01-00T00:00:00Z",       /* day 0 */
		"2026-01-32T00:00:00Z",
		"2026-02-30T00:00:00Z",       /* Feb 30 */
		"2027-02-29T00:00:00Z",       /* not a leap year */
		"1900-02-29T00:00:00Z",       /* century, not leap */
		"2100-02-29T00:00:00Z",
		"2026-04-31T00:00:00Z",       /* 30-day months */
		"2026-06-31T00:00:00Z",
		"2026-09-31T00:00:00Z",
		"2026-11-31T00:00:00Z",
		"2026-11-26T24:00:00Z",       /* hour 24 */
		"2026-11-26T23:60:00Z",
		"2026-11-26T23:59:60Z",       /* leap second */
		"2026-11-26T03:45:17Zx",      /* trailing junk */
		"2026-11-26T03:45:17Z ",
		"2026-11-26T03:45:17+02:00Z",
		"2026-11-26T03:45:17ZZ",
		" 2026-11-26T03:45:17Z",      /* leading space */
		"2026-11-26T03:45:17",        /* no zone */
		"2026-11-26 03:45:17Z",       /* space separator */
		"2026-11-26X03:45:17Z",
		"2026-11-26T03:45Z",          /* no seconds */
		"2026-11-26",
		"2026-11-26T03:45:17.Z",      /* empty fraction */
		"2026-11-26T03:45:17,5Z",
		"2026-11-26T03:45:17+2:00",
		"2026-11-26T03:45:17+02",
		"2026-11-26T03:45:17+0200",
		"2026-11-26T03:45:17+02:0",
		"2026-11-26T03:45:17+02:60",
		"2026-11-26T03:45:17+24:00",
		"2026-11-26T03:45:17+02:00:00",
		"2026-11-26T03:45:17 +02:00",
		"2026-1-26T03:45:17Z",
		"2026-11-6T03:45:17Z",
		"2026-11-26T3:45:17Z",
		"+2026-11-26T03:45:17Z",
		"-2026-11-26T03:45:17Z",
		"12026-11-26T03:45:17Z",
		"20261126T034517Z",
		"2026/11/26T03:45:17Z",
		"2026-11-26T03-45-17Z",
		"2026-+1-26T03:45:17Z",
		"2026-11-26T03:45:1aZ",
		"abcd-ef-ghTij:kl:mnZ",
		"2026-11-26T03:45:17UTC",
	};
	static const char valid[] = "2026-11-26T05:45:17.123+02:00";
	pf_time t;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = 42;
		if (pf_time_parse(bad[i], &t) != -1)
			fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
		UNIT_EQ_INT(pf_time_parse(bad[i], &t), -1);
		UNIT_EQ_INT(t, 42);       /* untouched on failure */
	}
	/* Every proper prefix of a valid string is incomplete. */
	for (size_t n = 0; n < sizeof(valid) - 1; n++) {
		char prefix[sizeof(valid)];

		memcpy(prefix, valid, n);
		prefix[n] = '\0';
		UNIT_EQ_INT(pf_time_parse(prefix, &t), -1);
	}
	UNIT_EQ_INT(pf_time_parse(valid, &t), 0);
	UNIT_EQ_INT(t, 1795664717);
	UNIT_EQ_INT(pf_time_parse(NULL, &t), -1);
	UNIT_EQ_INT(pf_time_parse(valid, NULL), -1);
}

static void
test_round_trip_every_day(void)
{
	int y = 1, m = 1, d = 1, bad = 0, bad_weekday = 0;
	/* 0001-01-01 was a Monday in the proleptic Gregorian calendar. */
	int weekday = 0;
	pf_time t;

	/* Walks every day of 0001..9999 with a naive calendar that shares no
	 * code with the library, at a time of day that changes each day. */
	for (int64_t days = -719162; ; days++) {
		char want[64], got[PF_RFC3339_LEN];
		int64_t sod = (days * 7919) % PF_DAY_SECONDS;
		pf_time now;

		if (sod < 0)
			sod += PF_DAY_SECONDS;
		now = days * PF_DAY_SECONDS + sod;
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d,
		    (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
		if (pf_time_format(now, got) != 0 || strcmp(got, want) != 0 ||
		    pf_time_parse(want, &t) != 0 || t != now ||
		    pf_time_day_start(now) != days * PF_DAY_SECONDS)
			bad++;
		if (pf_time_weekday(now) != weekday)
			bad_weekday++;
		weekday = (weekday + 1) % 7;
		if (++d > naive_dim(y, m)) {
			d = 1;
			if (++m > 12) {
				m = 1;
				if (++y > 9999)
					break;
			}
		}
	}
	UNIT_EQ_INT(bad, 0);
	UNIT_EQ_INT(bad_weekday, 0);
}

static void
test_weekday_and_day_start(void)
{
	UNIT_EQ_INT(pf_time_weekday(0), 3);                                /* Thu */
	UNIT_EQ_INT(pf_time_weekday(-1), 2);                               /* Wed */
	UNIT_EQ_INT(pf_time_weekday(at("2026-11-23T00:00:00Z")), 0);       /* Mon */
	UNIT_EQ_INT(pf_time_weekday(at("2026-11-23T23:59:59Z")), 0);
	UNIT_EQ_INT(pf_time_weekday(at("2026-11-24T00:00:00Z")), 1);
	UNIT_EQ_INT(pf_time_weekday(at("2026-11-26T03:45:17Z")), 3);
	UNIT_EQ_INT(pf_time_weekday(at("2026-11-27T12:00:00Z")), 4);
	UNIT_EQ_INT(pf_time_weekday(at("2026-11-28T12:00:00Z")), 5);
	UNIT_EQ_INT(pf_time_weekday(at("2026-11-29T23:59:59Z")), 6);
	UNIT_EQ_INT(pf_time_weekday(at("2000-01-01T00:00:00Z")), 5);
	UNIT_EQ_INT(pf_time_weekday(at("2024-02-29T00:00:00Z")), 3);
	UNIT_EQ_INT(pf_time_weekday(at("1900-02-28T00:00:00Z")), 2);
	UNIT_EQ_INT(pf_time_weekday(at("0001-01-01T00:00:00Z")), 0);
	UNIT_CHECK(pf_time_weekday(INT64_MIN) >= 0 && pf_time_weekday(INT64_MIN) <= 6);
	UNIT_CHECK(pf_time_weekday(INT64_MAX) >= 0 && pf_time_weekday(INT64_MAX) <= 6);

	EQ_TIME(pf_time_day_start(at("2026-11-26T03:45:17Z")), "2026-11-26T00:00:00Z");
	EQ_TIME(pf_time_day_start(at("2026-11-26T00:00:00Z")), "2026-11-26T00:00:00Z");
	EQ_TIME(pf_time_day_start(at("2026-11-26T23:59:59Z")), "2026-11-26T00:00:00Z");
	UNIT_EQ_INT(pf_time_day_start(-1), -PF_DAY_SECONDS);
	UNIT_EQ_INT(pf_time_day_start(-PF_DAY_SECONDS), -PF_DAY_SECONDS);
	UNIT_EQ_INT(pf_time_day_start(INT64_MIN), INT64_MIN);
}

#define DUE(submitted, want) EQ_TIME(pf_time_business_days_after(at(submitted), 5), (want))

/* The n-th business day after the submission day, by walking day by day. */
static pf_time
naive_business_days_after(pf_time submitted, int n)
{
	pf_time day = pf_time_day_start(submitted);

	while (n > 0) {
		day += PF_DAY_SECONDS;
		if (pf_time_weekday(day) < 5)
			n--;
	}
	return day + PF_DAY_SECONDS - 1;
}

static void
test_business_days(void)
{
	int bad = 0;

	/* One week, Monday 2026-11-23 to Sunday 2026-11-29, across a month end. */
	DUE("2026-11-23T00:00:00Z", "2026-11-30T23:59:59Z");   /* Mon -> Mon */
	DUE("2026-11-23T23:59:59Z", "2026-11-30T23:59:59Z");
	DUE("2026-11-24T09:00:00Z", "2026-12-01T23:59:59Z");   /* Tue -> Tue */
	DUE("2026-11-25T09:00:00Z", "2026-12-02T23:59:59Z");   /* Wed -> Wed */
	DUE("2026-11-26T03:45:17Z", "2026-12-03T23:59:59Z");   /* Thu -> Thu */
	DUE("2026-11-27T00:00:00Z", "2026-12-04T23:59:59Z");   /* Fri -> Fri */
	DUE("2026-11-27T23:59:59Z", "2026-12-04T23:59:59Z");
	DUE("2026-11-28T00:00:00Z", "2026-12-04T23:59:59Z");   /* Sat -> Fri */
	DUE("2026-11-29T23:59:59Z", "2026-12-04T23:59:59Z");   /* Sun -> Fri */
	/* Day boundary of the submission: one second later is the next day. */
	DUE("2026-11-30T00:00:00Z", "2026-12-07T23:59:59Z");

	/* Year ends. */
	DUE("2026-12-30T10:00:00Z", "2027-01-06T23:59:59Z");   /* Wed */
	DUE("2026-12-31T10:00:00Z", "2027-01-07T23:59:59Z");   /* Thu */
	DUE("2027-12-31T10:00:00Z", "2028-01-07T23:59:59Z");   /* Fri */
	DUE("2028-12-29T10:00:00Z", "2029-01-05T23:59:59Z");   /* Fri */
	DUE("2028-12-30T10:00:00Z", "2029-01-05T23:59:59Z");   /* Sat */
	DUE("2028-12-31T10:00:00Z", "2029-01-05T23:59:59Z");   /* Sun */
	/* Month ends, including a leap February. */
	DUE("2027-01-29T10:00:00Z", "2027-02-05T23:59:59Z");   /* Fri */
	DUE("2028-02-26T10:00:00Z", "2028-03-03T23:59:59Z");   /* Sat */
	DUE("2028-02-28T10:00:00Z", "2028-03-06T23:59:59Z");   /* Mon */
	DUE("2027-02-26T10:00:00Z", "2027-03-05T23:59:59Z");   /* Fri */
	/* Before the epoch. */
	DUE("1969-12-31T12:00:00Z", "1970-01-07T23:59:59Z");   /* Wed */
	/* An offset in the input only matters through the UTC day it gives. */
	DUE("2026-11-28T01:00:00+02:00", "2026-12-04T23:59:59Z");  /* Fri 23:00Z */

	/* Other counts. */
	EQ_TIME(pf_time_business_days_after(at("2026-11-27T12:00:00Z"), 1), "2026-11-30T23:59:59Z");
	EQ_TIME(pf_time_business_days_after(at("2026-11-28T12:00:00Z"), 1), "2026-11-30T23:59:59Z");
	EQ_TIME(pf_time_business_days_after(at("2026-11-29T12:00:00Z"), 1), "2026-11-30T23:59:59Z");
	EQ_TIME(pf_time_business_days_after(at("2026-11-26T12:00:00Z"), 1), "2026-11-27T23:59:59Z");
	EQ_TIME(pf_time_business_days_after(at("2026-11-23T12:00:00Z"), 1), "2026-11-24T23:59:59Z");
	EQ_TIME(pf_time_business_days_after(at("2026-11-26T12:00:00Z"), 2), "2026-11-30T23:59:59Z");
	EQ_TIME(pf_time_business_days_after(at("2026-11-23T12:00:00Z"), 4), "2026-11-27T23:59:59Z");
	EQ_TIME(pf_time_business_days_after(at("2026-11-23T12:00:00Z"), 6), "2026-12-01T23:59:59Z");
	EQ_TIME(pf_time_business_days_after(at("2026-11-23T12:00:00Z"), 10), "2026-12-07T23:59:59Z");
	EQ_TIME(pf_time_business_days_after(at("2026-11-27T12:00:00Z"), 10), "2026-12-11T23:59:59Z");

	/* Against a day-by-day walk: every submission second-of-week and n. */
	for (pf_time s = at("2026-12-20T00:00:00Z"); s < at("2027-01-20T00:00:00Z");
	    s += 3 * 3600 + 7) {
		for (int n = 1; n <= 15; n++) {
			pf_time got = pf_time_business_days_after(s, n);

			if (got != naive_business_days_after(s, n) ||
			    pf_time_weekday(got) > 4 ||
			    got - pf_time_day_start(got) != PF_DAY_SECONDS - 1)
				bad++;
		}
	}
	UNIT_EQ_INT(bad, 0);
}

int
main(void)
{
	test_add_months_clamping();
	test_add_months_year_roll_and_leap();
	test_add_months_property();
	test_period_index();
	test_format();
	test_parse_accepts();
	test_parse_rejects();
	test_round_trip_every_day();
	test_weekday_and_day_start();
	test_business_days();
	return UNIT_REPORT("test_pf_time");
}
