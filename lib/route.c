/* route.c: path matching by segments. */
#include <stdio.h>
#include <string.h>
#include "route.h"

/* True when path matches pattern; a "{id}" segment captures one non-empty
 * path segment into param. */
static bool
pattern_matches(const char *pattern, const char *path, char *param, size_t paramlen)
{
	while (*pattern != '\0' && *path != '\0') {
		if (strncmp(pattern, "{id}", 4) == 0) {
			size_t len = strcspn(path, "/");
			if (len == 0 || len >= paramlen)
				return false;
			memcpy(param, path, len);
			param[len] = '\0';
			pattern += 4;
			path += len;
			continue;
		}
		if (*pattern != *path)
			return false;
		pattern++;
		path++;
	}
	return *pattern == '\0' && *path == '\0';
}

enum route_result
route_match(const struct route *routes, size_t count, const char *method, const char *path,
    const struct route **match, char *param, size_t paramlen, char *allow, size_t allowlen)
{
	bool path_known = false;
	size_t i, used = 0;

	if (allowlen > 0)
		allow[0] = '\0';
	for (i = 0; i < count; i++) {
		if (!pattern_matches(routes[i].pattern, path, param, paramlen))
			continue;
		if (strcmp(routes[i].method, method) == 0) {
			*match = &routes[i];
			return ROUTE_FOUND;
		}
		path_known = true;
		if (used < allowlen) {
			int n = snprintf(allow + used, allowlen - used, "%s%s",
			    used ? ", " : "", routes[i].method);
			if (n > 0)
				used += (size_t)n;
		}
	}
	if (paramlen > 0)
		param[0] = '\0';
	return path_known ? ROUTE_METHOD_NOT_ALLOWED : ROUTE_NOT_FOUND;
}
