/* pf_time.c: UTC calendar arithmetic on int64 seconds.
 *
 * Dates go through Howard Hinnant's days_from_civil / civil_from_days
 * (http://howardhinnant.github.io/date_algorithms.html): exact for the
 * proleptic Gregorian calendar, table-free, and independent of libc's
 * mktime/timegm/gmtime, which read the TZ environment or keep static state
 * and so are neither pure nor safe to share between request threads.
 *
 * Every function is total over int64: results that would leave the int64
 * range saturate instead of overflowing, so no input can cause undefined
 * behaviour (the service only ever feeds years 0001..9999). */
#include <limits.h>
#include "pf_time.h"

struct civil {
	int64_t y; /* int64 because civil_from_days must accept any t / 86400 */
	int m;     /* 1..12 */
	int d;     /* 1..31 */
};

/* C division truncates toward zero; calendar math needs floor so that times
 * before 1970 fall into the right day. b > 0 everywhere below. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b < 0)
		q--;
	return q;
}

static int64_t
floor_mod(int64_t a, int64_t b)
{
	int64_t r = a % b;

	return r < 0 ? r + b : r;
}

static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	/* The algorithm's year starts on March 1 so that the leap day is the
	 * last day of the year and month lengths follow the 153/5 pattern. */
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, struct civil *c)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	c->d = (int)(doy - (153 * mp + 2) / 5 + 1);
	c->m = (int)(mp < 10 ? mp + 3 : mp - 9);
	c->y = yoe + era * 400 + (c->m <= 2);
}

static int
is_leap(int64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int
days_in_month(int64_t y, int m)
{
	static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* Saturates rather than wrapping: a far-future sentinel must stay far in the
 * future, not become a date in 1901. */
static pf_time
from_days(int64_t days, int64_t sod)
{
	pf_time t;

	if (__builtin_mul_overflow(days, PF_DAY_SECONDS, &t))
		return days < 0 ? INT64_MIN : INT64_MAX;
	if (__builtin_add_overflow(t, sod, &t))
		return INT64_MAX;
	return t;
}

pf_time
pf_time_add_months(pf_time anchor, int months)
{
	int64_t days = floor_div(anchor, PF_DAY_SECONDS);
	int64_t sod = floor_mod(anchor, PF_DAY_SECONDS);
	int64_t index, y;
	struct civil c;
	int m, d;

	civil_from_days(days, &c);
	index = c.y * 12 + (c.m - 1) + months;
	y = floor_div(index, 12);
	m = (int)(index - y * 12) + 1;
	/* Clamp against the anchor's day, never a previous result's, so that
	 * Jan 31 -> Feb 28 does not turn into Mar 28 a month later. */
	d = c.d;
	if (d > days_in_month(y, m))
		d = days_in_month(y, m);
	return from_days(days_from_civil(y, m, d), sod);
}

int
pf_time_period_index_at(pf_time anchor, pf_time t)
{
	struct civil a, b;
	int64_t k;

	if (t < anchor)
		return 0;
	civil_from_days(floor_div(anchor, PF_DAY_SECONDS), &a);
	civil_from_days(floor_div(t, PF_DAY_SECONDS), &b);
	/* add_months(anchor, k) lands in t's own month; k + 1 lands in the next
	 * month, after t. So the answer is k, or k - 1 when t comes earlier in
	 * the month than the anchor's (clamped) day and time. */
	k = (b.y - a.y) * 12 + (b.m - a.m);
	if (k > INT_MAX)
		return INT_MAX;
	if (k > 0 && pf_time_add_months(anchor, (int)k) > t)
		k--;
	return (int)k;
}

static void
put_digits(char *p, int64_t v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

int
pf_time_format(pf_time t, char buf[PF_RFC3339_LEN])
{
	int64_t sod = floor_mod(t, PF_DAY_SECONDS);
	struct civil c;

	civil_from_days(floor_div(t, PF_DAY_SECONDS), &c);
	if (c.y < 1 || c.y > 9999) {
		/* A caller that ignores the result still gets a valid C string. */
		buf[0] = '\0';
		return -1;
	}
	put_digits(buf, c.y, 4);
	buf[4] = '-';
	put_digits(buf + 5, c.m, 2);
	buf[7] = '-';
	put_digits(buf + 8, c.d, 2);
	buf[10] = 'T';
	put_digits(buf + 11, sod / 3600, 2);
	buf[13] = ':';
	put_digits(buf + 14, sod / 60 % 60, 2);
	buf[16] = ':';
	put_digits(buf + 17, sod % 60, 2);
	buf[19] = 'Z';
	buf[20] = '\0';
	return 0;
}

/* Exactly n ASCII digits. Stops at the first non-digit, so a string that ends
 * early (its NUL is not a digit) is never read past its terminator. */
static int
parse_digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
pf_time_parse(const char *s, pf_time *out)
{
	int y, mo, d, h, mi, sec, oh, om;
	int64_t offset = 0;
	const char *p;

	if (s == NULL || out == NULL)
		return -1;
	/* Each separator is tested only after the digits before it matched, so
	 * every byte read lies inside the string. */
	if (parse_digits(s, 4, &y) || s[4] != '-' ||
	    parse_digits(s + 5, 2, &mo) || s[7] != '-' ||
	    parse_digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    parse_digits(s + 11, 2, &h) || s[13] != ':' ||
	    parse_digits(s + 14, 2, &mi) || s[16] != ':' ||
	    parse_digits(s + 17, 2, &sec))
		return -1;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		if (parse_digits(p + 1, 2, &oh) || p[3] != ':' ||
		    parse_digits(p + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		offset = (int64_t)oh * 3600 + om * 60;
		if (*p == '-')
			offset = -offset;
		p += 6;
	} else {
		return -1;
	}
	if (*p != '\0')
		return -1;
	/* Second 60 (a leap second) is refused: Unix time cannot represent it,
	 * and silently moving it would make two inputs compare equal. */
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
	    h > 23 || mi > 59 || sec > 59)
		return -1;
	/* Local time = UTC + offset, so UTC = local - offset. */
	*out = days_from_civil(y, mo, d) * PF_DAY_SECONDS +
	    (int64_t)h * 3600 + mi * 60 + sec - offset;
	return 0;
}

int
pf_time_weekday(pf_time t)
{
	/* 1970-01-01 was a Thursday (3 with Monday = 0). */
	return (int)floor_mod(floor_div(t, PF_DAY_SECONDS) + 3, 7);
}

pf_time
pf_time_day_start(pf_time t)
{
	return from_days(floor_div(t, PF_DAY_SECONDS), 0);
}

pf_time
pf_time_business_days_after(pf_time submitted_at, int n)
{
	int64_t day = floor_div(submitted_at, PF_DAY_SECONDS);
	int w, rem;

	if (n < 1)
		return from_days(day, PF_DAY_SECONDS - 1);
	w = (int)floor_mod(day + 3, 7);
	/* Counting from a Saturday or Sunday reaches the same business days as
	 * counting from the Friday before it: the next one is Monday either way. */
	if (w > 4) {
		day -= w - 4;
		w = 4;
	}
	/* Five business days are always exactly one calendar week, which keeps
	 * this O(1) for any n; the remainder crosses one weekend at most. */
	day += (int64_t)(n / 5) * 7;
	rem = n % 5;
	day += w + rem > 4 ? rem + 2 : rem;
	return from_days(day, PF_DAY_SECONDS - 1);
}
