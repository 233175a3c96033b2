/* auth_subject.h: the syntax of a user id, which is a token's `sub`: the one
 * rule the token verifier, the webhook that provisions users and the
 * billing-cycle command's --user all apply, and that users.id's CHECK
 * mirrors. Pure. */
#ifndef AUTH_SUBJECT_H
#define AUTH_SUBJECT_H

#include <stdbool.h>
#include <stddef.h>

#define AUTH_SUB_MAX 64

/* True when s[0..len) is 1..AUTH_SUB_MAX characters of [A-Za-z0-9_.@:-].
 * Such an id needs no escaping in SQL array literals, paths or logs. */
bool auth_subject_valid(const char *s, size_t len);

#endif
