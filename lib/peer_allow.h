/* peer_allow.h: the addresses allowed to speak FastCGI to the app over TCP
 * (PF_FASTCGI_ALLOW): a list of IPv4 and IPv6 addresses and prefixes, such
 * as "127.0.0.1, 10.1.2.0/24, ::1". Pure: no I/O, no name lookups. */
#ifndef PEER_ALLOW_H
#define PEER_ALLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define PEER_ALLOW_MAX 32
#define PEER_ALLOW_TEXT_MAX 1024

/* Each entry is an IPv6 network; IPv4 ones are kept as IPv4-mapped
 * addresses (::ffff:a.b.c.d) with 96 added to their prefix length. */
struct peer_allow_list {
	struct in6_addr network[PEER_ALLOW_MAX];
	unsigned prefix_len[PEER_ALLOW_MAX];
	size_t count;
};

/* Parses a comma- or space-separated list. Returns 0, or -1 with *error
 * set (static text naming what is wrong) and list emptied. An empty text
 * is an empty list, which allows nobody. */
int peer_allow_parse(const char *text, struct peer_allow_list *list, const char **error);

/* Whether the peer address (AF_INET or AF_INET6) is inside an entry. An
 * IPv4-mapped IPv6 peer matches IPv4 entries. */
bool peer_allow_contains(const struct peer_allow_list *list, const struct sockaddr *addr,
    socklen_t addr_len);

#endif
