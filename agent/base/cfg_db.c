/* cfg_db.c: the [database NAME] sections of the configuration: which database servers are
 * dumped into each snapshot, how their clients reach them, and which databases. */
#include "base/cfg_db.h"

#include "base/cfg_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/cfg.h"
#include "coffre/dbdump.h"

/* Printable, no blank: a value handed to a client as one argument. */
static int word(const char *v)
{
	if (!*v)
		return 0;
	for (const unsigned char *c = (const unsigned char *)v; *c; c++)
		if (*c <= ' ' || *c == 0x7f)
			return 0;
	return 1;
}

static int add_databases(struct dbdump_source *s, const char *v, char *msg, size_t n)
{
	char *copy = strdup(v), *save = NULL;
	if (!copy)
		return -1;
	int rc = 0;
	for (char *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (!dbdump_name_ok(s->kind < 0 ? DBDUMP_POSTGRESQL : s->kind, t)) {
			rc = cfg_say(msg, n, "database '%s': '%s' is not a database name that "
				"can be dumped", s->name, t);
			break;
		}
		char **nv = realloc(s->databases, (s->ndatabases + 1) * sizeof *nv);
		if (!nv || !(nv[s->ndatabases] = strdup(t))) {
			if (nv)
				s->databases = nv;
			rc = -1;
			break;
		}
		s->databases = nv;
		s->ndatabases++;
	}
	free(copy);
	return rc;
}

int cfg_db_key(struct cfg *c, const char *name, const char *key, const char *v, char *msg,
	size_t n, int *ret_index)
{
	struct dbdump_source *s = NULL;
	*ret_index = -1;
	for (size_t i = 0; i < c->ndbs; i++)
		if (strcmp(c->dbs[i].name, name) == 0)
			s = &c->dbs[i];
	if (!s) {
		if (!cfg_name_ok(name) || name[0] == '.')	/* a folder's name */
			return cfg_say(msg, n, "database server name '%s' is not valid (letters, "
				"digits, '-', '_' and '.', at most 64)", name);
		if (c->ndbs == CFG_MAX_DBS)
			return cfg_say(msg, n, "too many [database] sections (at most %d)",
				CFG_MAX_DBS);
		struct dbdump_source *nd = realloc(c->dbs, (c->ndbs + 1) * sizeof *nd);
		if (!nd)
			return -1;
		c->dbs = nd;
		s = &nd[c->ndbs];
		*s = (struct dbdump_source){ .kind = _DBDUMP_KIND_INVALID };
		if (!(s->name = strdup(name)))
			return -1;
		c->ndbs++;
	}
	*ret_index = (int)(s - c->dbs);
	if (strcmp(key, "kind") == 0) {
		int k = dbdump_kind_parse(v);
		if (k < 0)
			return cfg_say(msg, n, "database '%s': kind must be mariadb or postgresql, "
				"not '%s'", name, v);
		s->kind = k;
		return 0;
	}
	if (strcmp(key, "socket") == 0 || strcmp(key, "client-dir") == 0 ||
	    strcmp(key, "password-file") == 0) {
		if (v[0] != '/')
			return cfg_say(msg, n, "database '%s': %s '%s' is not an absolute path",
				name, key, v);
		char **slot = key[0] == 's' ? &s->socket : key[0] == 'c' ? &s->client_dir :
			&s->password_file;
		return cfg_set_str(slot, v);
	}
	if (strcmp(key, "host") == 0 || strcmp(key, "user") == 0) {
		if (!word(v) || v[0] == '-')
			return cfg_say(msg, n, "database '%s': %s '%s' is not valid", name, key, v);
		return cfg_set_str(key[0] == 'h' ? &s->host : &s->user, v);
	}
	if (strcmp(key, "port") == 0) {
		char *end;
		errno = 0;
		long p = strtol(v, &end, 10);
		if (errno || end == v || *end || p < 1 || p > 65535)
			return cfg_say(msg, n, "database '%s': port must be a number from 1 to "
				"65535, not '%s'", name, v);
		s->port = (int)p;
		return 0;
	}
	if (strcmp(key, "databases") == 0)
		return add_databases(s, v, msg, n);
	return cfg_say(msg, n, "unknown key '%s' in section [database %s]", key, name);
}

int cfg_db_check(const struct dbdump_source *s, char *msg, size_t n)
{
	if (s->kind < 0)
		return cfg_say(msg, n, "database '%s' has no 'kind' (mariadb or postgresql)",
			s->name);
	if (s->socket && s->host)
		return cfg_say(msg, n, "database '%s': give 'socket' or 'host', not both", s->name);
	if (s->port && !s->host && !(s->kind == DBDUMP_POSTGRESQL && s->socket))
		return cfg_say(msg, n, "database '%s': 'port' goes with 'host'", s->name);
	for (size_t i = 0; i < s->ndatabases; i++)
		if (!dbdump_name_ok(s->kind, s->databases[i]))
			return cfg_say(msg, n, "database '%s': '%s' is not a database name that "
				"can be dumped", s->name, s->databases[i]);
	return 0;
}

void cfg_db_release(struct dbdump_source *s)
{
	free(s->name);
	free(s->socket);
	free(s->host);
	free(s->user);
	free(s->password_file);
	free(s->client_dir);
	for (size_t i = 0; i < s->ndatabases; i++)
		free(s->databases[i]);
	free(s->databases);
	memset(s, 0, sizeof *s);
}
