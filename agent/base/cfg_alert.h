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

/* cfg_alert_locale_language(files): "fr" or "en", the language of the first real locale among
 * LC_ALL, LC_MESSAGES and LANG; when the environment has none (a service started without a
 * locale, or the C locale), the system's, from the NULL-ended list of ${files} (KEY=value
 * lines: cfg_alert_locale_files, /etc/locale.conf and /etc/default/locale); "en" when nothing
 * says. */
extern const char *const cfg_alert_locale_files[];
const char *cfg_alert_locale_language(const char *const *files);

#endif
