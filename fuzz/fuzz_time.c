/* fuzz_time.c: lib/pf_time.c, which promises to be total over int64 (no
 * undefined behaviour for any input) and exact in years 0001..9999.
 *
 * Input (little-endian): int64 t, int32 months, int32 n, then a string for
 * pf_time_parse (up to its first NUL). Shorter inputs are zero-padded.
 *
 * Every function runs on the raw values (UBSan judges those); the
 * invariants are asserted where the header's contract applies:
 *  - parse/format round trip: format(t) == 0 implies parse gives t back,
 *    and a canonical "...Z" string that parses formats back to itself;
 *  - add_months: time of day kept, day clamped to the month, exactly
 *    `months` months on, never before the anchor, and period_index_at
 *    agrees with it on both sides of the boundary;
 *  - business_days_after: 23:59:59 of a Monday-Friday, exactly n business
 *    days after the submission day (counted one by one for small n). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "pf_time.h"
#include "fuzz.h"

#define YEAR_1 ((pf_time)-62135596800)      /* 0001-01-01T00:00:00Z */
#define YEAR_10000 ((pf_time)253402300800)  /* 10000-01-01T00:00:00Z */

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

static int64_t
add_saturating(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b < 0 ? INT64_MIN : INT64_MAX;
	return r;
}

static bool
in_years(pf_time t)
{
	return t >= YEAR_1 && t < YEAR_10000;
}

/* y, m, d, seconds of day of t (years 1..9999), through pf_time_format. */
static void
civil(pf_time t, int *y, int *m, int *d, int *sod)
{
	char buf[PF_RFC3339_LEN];

	FUZZ_ASSERT(pf_time_format(t, buf) == 0);
	*y = atoi(buf);
	*m = atoi(buf + 5);
	*d = atoi(buf + 8);
	*sod = atoi(buf + 11) * 3600 + atoi(buf + 14) * 60 + atoi(buf + 17);
}

static int
month_length(int y, int m)
{
	static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);

	return m == 2 && leap ? 29 : len[m - 1];
}

static void
check_round_trip(pf_time t)
{
	char buf[PF_RFC3339_LEN];
	pf_time back;

	memset(buf, 'x', sizeof(buf));
	if (pf_time_format(t, buf) != 0) {
		FUZZ_ASSERT(buf[0] == '\0');
		FUZZ_ASSERT(!in_years(t));
		return;
	}
	FUZZ_ASSERT(in_years(t));
	FUZZ_ASSERT(strlen(buf) == PF_RFC3339_LEN - 1);
	FUZZ_ASSERT(pf_time_parse(buf, &back) == 0);
	FUZZ_ASSERT(back == t);
}

static void
check_parse(const char *s)
{
	char buf[PF_RFC3339_LEN], canon[PF_RFC3339_LEN];
	pf_time t;

	if (pf_time_parse(s, &t) != 0)
		return;
	/* at most year 9999 plus a 23:59 offset either way */
	FUZZ_ASSERT(t >= YEAR_1 - 367 * PF_DAY_SECONDS && t < YEAR_10000 + PF_DAY_SECONDS);
	check_round_trip(t);
	if (strlen(s) == PF_RFC3339_LEN - 1 && pf_time_format(t, buf) == 0) {
		memcpy(canon, s, sizeof(canon));
		canon[10] = 'T';
		canon[19] = 'Z';
		FUZZ_ASSERT(strcmp(buf, canon) == 0);
	}
}

static void
check_add_months(pf_time anchor, int months)
{
	int ay, am, ad, asod, ry, rm, rd, rsod;
	pf_time r;

	r = pf_time_add_months(anchor, months);
	if (!in_years(anchor) || months < 0 || months > 12 * 1000)
		return;
	if (!in_years(r))
		return;
	civil(anchor, &ay, &am, &ad, &asod);
	civil(r, &ry, &rm, &rd, &rsod);
	FUZZ_ASSERT(rsod == asod);
	FUZZ_ASSERT((ry * 12 + rm - 1) - (ay * 12 + am - 1) == months);
	FUZZ_ASSERT(rd == (ad < month_length(ry, rm) ? ad : month_length(ry, rm)));
	FUZZ_ASSERT(r >= anchor);
	FUZZ_ASSERT(pf_time_period_index_at(anchor, r) == months);
	if (months > 0)
		FUZZ_ASSERT(pf_time_period_index_at(anchor, r - 1) == months - 1);
}

static void
check_period_index(pf_time anchor, pf_time t)
{
	int k = pf_time_period_index_at(anchor, t);

	FUZZ_ASSERT(k >= 0);
	if (!in_years(anchor) || !in_years(t) || t < anchor)
		return;
	FUZZ_ASSERT(pf_time_add_months(anchor, k) <= t);
	FUZZ_ASSERT(pf_time_add_months(anchor, k + 1) > t);
}

static void
check_business_days(pf_time submitted, int n)
{
	pf_time due = pf_time_business_days_after(submitted, n);
	int64_t day, due_day;
	int count = 0;

	(void)pf_time_weekday(submitted);
	(void)pf_time_day_start(submitted);
	if (!in_years(submitted) || n < 1 || n > 100000 || !in_years(due))
		return;
	FUZZ_ASSERT(pf_time_day_start(submitted) <= submitted);
	FUZZ_ASSERT(submitted - pf_time_day_start(submitted) < PF_DAY_SECONDS);
	FUZZ_ASSERT(due - pf_time_day_start(due) == PF_DAY_SECONDS - 1);
	FUZZ_ASSERT(pf_time_weekday(due) <= 4);
	FUZZ_ASSERT(due > submitted);
	day = floor_div(submitted, PF_DAY_SECONDS);
	due_day = floor_div(due, PF_DAY_SECONDS);
	/* n business days span at most n / 5 weeks plus one weekend */
	FUZZ_ASSERT(due_day - day <= (int64_t)n / 5 * 7 + 7);
	if (n > 60)
		return;
	for (int64_t d = day + 1; d <= due_day; d++)
		if (pf_time_weekday(d * PF_DAY_SECONDS) <= 4)
			count++;
	FUZZ_ASSERT(count == n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t head[16];
	int64_t t;
	int32_t months, n;
	char *s;

	memset(head, 0, sizeof(head));
	memcpy(head, data, size < sizeof(head) ? size : sizeof(head));
	t = (int64_t)((uint64_t)head[0] | (uint64_t)head[1] << 8 | (uint64_t)head[2] << 16 |
	    (uint64_t)head[3] << 24 | (uint64_t)head[4] << 32 | (uint64_t)head[5] << 40 |
	    (uint64_t)head[6] << 48 | (uint64_t)head[7] << 56);
	months = (int32_t)((uint32_t)head[8] | (uint32_t)head[9] << 8 |
	    (uint32_t)head[10] << 16 | (uint32_t)head[11] << 24);
	n = (int32_t)((uint32_t)head[12] | (uint32_t)head[13] << 8 |
	    (uint32_t)head[14] << 16 | (uint32_t)head[15] << 24);
	s = size > sizeof(head) ? fuzz_strndup(data + sizeof(head), size - sizeof(head)) :
	    fuzz_strndup(data, 0);

	check_round_trip(t);
	check_parse(s);
	check_add_months(t, months);
	check_period_index(t, add_saturating(pf_time_add_months(t, months), n));
	check_period_index(t, add_saturating(t, (int64_t)n * 3600));
	check_business_days(t, n);
	/* the small n the service uses, from any day */
	check_business_days(t, (int)((uint32_t)n % 16) + 1);
	/* a parsed time as anchor and submission too */
	{
		pf_time p;
		if (pf_time_parse(s, &p) == 0) {
			check_add_months(p, (int)((uint32_t)months % 1200));
			check_business_days(p, 5);
		}
	}
	free(s);
	return 0;
}
