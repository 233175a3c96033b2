/* cors.h: cross-origin access to the public API (PF_CORS_ORIGINS). Off by
 * default: the reference pages are served by the same nginx as the API, so
 * a browser needs no CORS for them. When origins are configured, the app
 * (not nginx) answers preflights, because only the route table knows each
 * path's methods; see docs/pages.md. Exact origins only: no wildcard, no
 * credentials (the token is a bearer header, never a cookie). */
#ifndef CORS_H
#define CORS_H

#include <stdbool.h>
#include <stddef.h>

#define CORS_ORIGINS_MAX 16
#define CORS_ORIGIN_MAX 256       /* scheme://host[:port] */
#define CORS_MAX_AGE 600          /* seconds a browser may cache a preflight */

struct cors_config {
	int count;                                   /* 0: CORS off */
	char origins[CORS_ORIGINS_MAX][CORS_ORIGIN_MAX];
};

/* Parses a list of origins separated by commas and/or white space, each
 * "http://host[:port]" or "https://host[:port]" exactly as a browser sends
 * it (lower case, no path, no trailing slash). An empty text is CORS off.
 * Returns 0, or -1 with *error set to a static sentence. */
int cors_parse(const char *text, struct cors_config *out, const char **error);

/* The configured origin equal to origin, byte for byte, or NULL. */
const char *cors_match(const struct cors_config *cfg, const char *origin);

/* Writes the CORS header lines ("Name: value\r\n"...) of one answer into
 * buf (NUL-terminated; empty when none apply). allowed: cors_match's
 * result. A preflight names the path's methods (allow, as for 405's Allow
 * header) and the request headers those methods take: a path with a POST
 * takes a JSON body and an Idempotency-Key. Every answer of a service with
 * CORS on varies by Origin, whoever asked. Returns 0, or -1 when buf is too
 * small (then buf is empty). */
int cors_headers(const struct cors_config *cfg, const char *allowed, bool preflight,
    const char *allow, char *buf, size_t buflen);

#endif
