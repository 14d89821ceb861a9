/* cfg_alert.h: the [alert] section, parsed for cfg.c (the fields: struct cfg_alert in
 * coffre/cfg.h). */
#ifndef COFFRE_CFG_ALERT_H
#define COFFRE_CFG_ALERT_H

#include <stddef.h>

struct cfg_alert;

/* cfg_alert_init(a): the defaults (reminder 24 h, unprotected-after 36 h, behind-after 7 d). */
void cfg_alert_init(struct cfg_alert *a);
/* cfg_alert_release(a): frees what ${a} holds and zeroes it. */
void cfg_alert_release(struct cfg_alert *a);
/* cfg_alert_key(a, name, value, msg, n): one key of [alert]. Returns 0 when taken, 1 when
 * refused (the reason in ${msg}, ${n} bytes), -1 when out of memory. */
int cfg_alert_key(struct cfg_alert *a, const char *name, const char *value, char *msg,
	size_t n);
/* cfg_alert_validate(a, problem, ctx): the defaults that depend on the machine (language from
 * the locale, shop name from the host name), and the checks across keys, each problem said
 * through ${problem}(${ctx}, message). Returns 0, or -1 when out of memory. */
int cfg_alert_validate(struct cfg_alert *a, void (*problem)(void *, const char *), void *ctx);

#endif
