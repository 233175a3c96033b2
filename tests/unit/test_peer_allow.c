/* test_peer_allow.c: PF_FASTCGI_ALLOW's parser and matcher: IPv4, IPv6 and
 * IPv4-mapped peers against addresses and prefixes at their edges, and
 * every refusal. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "peer_allow.h"
#include "unit.h"

static bool
allows(const char *list_text, const char *peer_text)
{
	struct peer_allow_list list;
	const char *error = NULL;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;

	if (peer_allow_parse(list_text, &list, &error) != 0) {
		fprintf(stderr, "unexpected refusal of %s: %s\n", list_text, error);
		return false;
	}
	memset(&v4, 0, sizeof(v4));
	memset(&v6, 0, sizeof(v6));
	if (inet_pton(AF_INET, peer_text, &v4.sin_addr) == 1) {
		v4.sin_family = AF_INET;
		return peer_allow_contains(&list, (struct sockaddr *)&v4, sizeof(v4));
	}
	if (inet_pton(AF_INET6, peer_text, &v6.sin6_addr) == 1) {
		v6.sin6_family = AF_INET6;
		return peer_allow_contains(&list, (struct sockaddr *)&v6, sizeof(v6));
	}
	return false;
}

static bool
refused(const char *list_text)
{
	struct peer_allow_list list;
	const char *error = NULL;
	int rc = peer_allow_parse(list_text, &list, &error);

	return rc == -1 && error != NULL && list.count == 0;
}

static void
test_addresses(void)
{
	UNIT_CHECK(allows("127.0.0.1", "127.0.0.1"));
	UNIT_CHECK(!allows("127.0.0.1", "127.0.0.2"));
	UNIT_CHECK(allows("127.0.0.1, ::1", "::1"));
	UNIT_CHECK(allows("10.0.0.5,10.0.0.6", "10.0.0.6"));
	UNIT_CHECK(allows(" 10.0.0.5 \t10.0.0.6 ,", "10.0.0.5"));
	UNIT_CHECK(!allows("::1", "127.0.0.1"));
	UNIT_CHECK(!allows("127.0.0.1", "::1"));
	/* an IPv4-mapped IPv6 peer (a dual-stack listener) matches IPv4 entries */
	UNIT_CHECK(allows("127.0.0.1", "::ffff:127.0.0.1"));
	UNIT_CHECK(!allows("127.0.0.1", "::ffff:127.0.0.2"));
	/* nobody */
	UNIT_CHECK(!allows("", "127.0.0.1"));
	UNIT_CHECK(!allows(" , ", "::1"));
}

static void
test_prefixes(void)
{
	UNIT_CHECK(allows("10.1.2.0/24", "10.1.2.0"));
	UNIT_CHECK(allows("10.1.2.0/24", "10.1.2.255"));
	UNIT_CHECK(!allows("10.1.2.0/24", "10.1.3.0"));
	UNIT_CHECK(!allows("10.1.2.0/24", "10.1.1.255"));
	UNIT_CHECK(allows("10.1.2.128/25", "10.1.2.128"));
	UNIT_CHECK(!allows("10.1.2.128/25", "10.1.2.127"));
	UNIT_CHECK(allows("10.1.2.2/31", "10.1.2.3"));
	UNIT_CHECK(!allows("10.1.2.2/31", "10.1.2.4"));
	UNIT_CHECK(allows("10.1.2.3/32", "10.1.2.3"));
	UNIT_CHECK(!allows("10.1.2.3/32", "10.1.2.2"));
	UNIT_CHECK(allows("0.0.0.0/0", "203.0.113.9"));
	UNIT_CHECK(!allows("0.0.0.0/0", "2001:db8::1"));
	UNIT_CHECK(allows("2001:db8::/32", "2001:db8:ffff::1"));
	UNIT_CHECK(!allows("2001:db8::/32", "2001:db9::1"));
	UNIT_CHECK(allows("2001:db8::/33", "2001:db8:7fff::1"));
	UNIT_CHECK(!allows("2001:db8::/33", "2001:db8:8000::1"));
	UNIT_CHECK(allows("::/0", "2001:db8::1"));
	UNIT_CHECK(allows("::1/128", "::1"));
	UNIT_CHECK(!allows("::1/128", "::2"));
}

static void
test_refusals(void)
{
	char many[PEER_ALLOW_TEXT_MAX + 2];
	char list[PEER_ALLOW_TEXT_MAX];
	int i;
	size_t n = 0;

	UNIT_CHECK(refused("localhost"));
	UNIT_CHECK(refused("127.0.0.1, nginx.internal"));
	UNIT_CHECK(refused("127.0.0"));
	UNIT_CHECK(refused("256.0.0.1"));
	UNIT_CHECK(refused("10.0.0.0/33"));
	UNIT_CHECK(refused("::/129"));
	UNIT_CHECK(refused("10.0.0.0/"));
	UNIT_CHECK(refused("10.0.0.0/-1"));
	UNIT_CHECK(refused("10.0.0.0/+8"));
	UNIT_CHECK(refused("10.0.0.0/8x"));
	UNIT_CHECK(refused("10.0.0.0/0008"));
	UNIT_CHECK(refused("10.0.0.0/8/8"));
	UNIT_CHECK(refused("1234567890123456789012345678901234567890123456789012345"));
	memset(many, '1', sizeof(many) - 1);
	many[sizeof(many) - 1] = '\0';
	UNIT_CHECK(refused(many));
	/* PEER_ALLOW_MAX entries are taken, one more is refused */
	for (i = 0; i < PEER_ALLOW_MAX; i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "10.0.0.%d,", i);
	UNIT_CHECK(allows(list, "10.0.0.31"));
	snprintf(list + n, sizeof(list) - n, "10.0.1.1");
	UNIT_CHECK(refused(list));
}

int
main(void)
{
	test_addresses();
	test_prefixes();
	test_refusals();
	return UNIT_REPORT("test_peer_allow");
}
