/* cfg_detect.h: the [detect] section, parsed for cfg.c (the fields: struct cfg's detect_*). */
#ifndef COFFRE_CFG_DETECT_H
#define COFFRE_CFG_DETECT_H

#include <stddef.h>

struct cfg;

/* cfg_detect_init(c): the defaults (watch on, canaries, detect_policy_default). */
void cfg_detect_init(struct cfg *c);
/* cfg_detect_key(c, key, value, msg, n): one key of [detect]. 0 when taken, 1 when refused
 * (the reason in ${msg}, ${n} bytes). */
int cfg_detect_key(struct cfg *c, const char *key, const char *value, char *msg, size_t n);

#endif
