/* auth_subject.c: the user-id (token `sub`) syntax. */
#include "auth_subject.h"

bool
auth_subject_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > AUTH_SUB_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		    c == '@' || c == ':' || c == '-'))
			return false;
	}
	return true;
}
