/* peer_allow.c: see peer_allow.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "peer_allow.h"

/* Parses one "address" or "address/prefix" into entry i. Returns 0 or -1. */
static int
entry_parse(const char *text, size_t len, struct peer_allow_list *list, const char **error)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	struct in_addr v4;
	struct in6_addr *net = &list->network[list->count];
	unsigned max_prefix, prefix;

	if (len >= sizeof(buf)) {
		*error = "an entry is too long";
		return -1;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	slash = strchr(buf, '/');
	if (slash != NULL)
		buf[slash - buf] = '\0';
	memset(net, 0, sizeof(*net));
	if (inet_pton(AF_INET, buf, &v4) == 1) {
		net->s6_addr[10] = 0xff;
		net->s6_addr[11] = 0xff;
		memcpy(&net->s6_addr[12], &v4, 4);
		max_prefix = 32;
	} else if (inet_pton(AF_INET6, buf, net) == 1) {
		max_prefix = 128;
	} else {
		*error = "an entry is not a numeric IPv4 or IPv6 address";
		return -1;
	}
	prefix = max_prefix;
	if (slash != NULL) {
		const char *digits = slash + 1;
		char *end;
		unsigned long value;

		if (!isdigit((unsigned char)digits[0]) || strlen(digits) > 3) {
			*error = "a prefix length is not a number";
			return -1;
		}
		value = strtoul(digits, &end, 10);
		if (*end != '\0' || value > max_prefix) {
			*error = "a prefix length is out of range";
			return -1;
		}
		prefix = (unsigned)value;
	}
	list->prefix_len[list->count] = prefix + (max_prefix == 32 ? 96 : 0);
	list->count++;
	return 0;
}

int
peer_allow_parse(const char *text, struct peer_allow_list *list, const char **error)
{
	const char *p = text;

	memset(list, 0, sizeof(*list));
	if (strlen(text) > PEER_ALLOW_TEXT_MAX) {
		*error = "the list is too long";
		return -1;
	}
	for (;;) {
		size_t len;

		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return 0;
		len = strcspn(p, ", \t");
		if (list->count == PEER_ALLOW_MAX) {
			*error = "more entries than PEER_ALLOW_MAX";
			goto fail;
		}
		if (entry_parse(p, len, list, error) != 0)
			goto fail;
		p += len;
	}
fail:
	memset(list, 0, sizeof(*list));
	return -1;
}

static bool
prefix_matches(const struct in6_addr *addr, const struct in6_addr *net, unsigned prefix_len)
{
	unsigned whole = prefix_len / 8, bits = prefix_len % 8;

	if (memcmp(addr->s6_addr, net->s6_addr, whole) != 0)
		return false;
	if (bits == 0)
		return true;
	return ((addr->s6_addr[whole] ^ net->s6_addr[whole]) & (0xff00u >> bits) & 0xff) == 0;
}

bool
peer_allow_contains(const struct peer_allow_list *list, const struct sockaddr *addr,
    socklen_t addr_len)
{
	struct in6_addr peer;
	size_t i;

	memset(&peer, 0, sizeof(peer));
	if (addr->sa_family == AF_INET && addr_len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)(const void *)addr;

		peer.s6_addr[10] = 0xff;
		peer.s6_addr[11] = 0xff;
		memcpy(&peer.s6_addr[12], &v4->sin_addr, 4);
	} else if (addr->sa_family == AF_INET6 && addr_len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		peer = ((const struct sockaddr_in6 *)(const void *)addr)->sin6_addr;
	} else {
		return false;
	}
	for (i = 0; i < list->count; i++)
		if (prefix_matches(&peer, &list->network[i], list->prefix_len[i]))
			return true;
	return false;
}
