/* state_internal.h: what state.c and state_history.c share: their JSON helpers. */
#ifndef COFFRE_STATE_INTERNAL_H
#define COFFRE_STATE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct cf_error;

/* state_jstr(s): ${s} as a string, or null when empty. */
json_t *state_jstr(const char *s);
/* state_ju64(v): ${v} as an integer. */
json_t *state_ju64(uint64_t v);
/* state_jdump(j, flags, ret_text, err): ${j} as text (malloc'd), ${j} released; 0 or
 * CF_ENOMEM. */
int state_jdump(json_t *j, size_t flags, char **ret_text, struct cf_error *err);

#endif
