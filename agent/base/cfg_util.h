/* cfg_util.h: what the section parsers (cfg.c, cfg_alert.c, cfg_db.c) share. */
#ifndef COFFRE_CFG_UTIL_H
#define COFFRE_CFG_UTIL_H

#include <stddef.h>

/* cfg_set_str(slot, v): a copy of ${v} in ${*slot} (freeing what was there); 0 or -1. */
int cfg_set_str(char **slot, const char *v);
/* cfg_say(msg, n, fmt, ...): the problem into ${msg} (${n} bytes); returns 1 (refused). */
int cfg_say(char *msg, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* cfg_name_ok(n): a section's NAME ([destination NAME], [database NAME]): letters, digits,
 * '-', '_' and '.', 1 to 64 of them. */
int cfg_name_ok(const char *n);

#endif
