/* cfg_db.h: the [database NAME] sections, parsed for cfg.c (the fields: struct dbdump_source
 * in coffre/dbdump.h; the list: struct cfg's dbs). */
#ifndef COFFRE_CFG_DB_H
#define COFFRE_CFG_DB_H

#include <stddef.h>

struct cfg;
struct dbdump_source;

#define CFG_MAX_DBS 16

/* cfg_db_key(c, name, key, value, msg, n, ret_index): one key of [database ${name}], the
 * section added to ${c}->dbs at its first key; ${*ret_index} is its index there, or -1
 * when the section is refused. Returns 0 when taken, 1 when refused (the reason in ${msg},
 * ${n} bytes), -1 when out of memory. */
int cfg_db_key(struct cfg *c, const char *name, const char *key, const char *value,
	char *msg, size_t n, int *ret_index);
/* cfg_db_check(s, msg, n): the checks across the keys of a section: 0, or 1 with the
 * problem in ${msg} (the password file is checked by cfg.c, as the other secret files). */
int cfg_db_check(const struct dbdump_source *s, char *msg, size_t n);
/* cfg_db_release(s): free what ${s} holds. */
void cfg_db_release(struct dbdump_source *s);

#endif
