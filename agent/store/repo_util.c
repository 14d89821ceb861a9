/* repo_util.c: helpers of the repository files: hex fields in JSON, listings, the cache dir. */
#include "store/repo_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "coffre/dst.h"
#include "coffre/error.h"

/* ---- JSON fields of the repository's files ---- */

int repo_json_set_hex(json_t *o, const char *key, const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);
	if (!s)
		return CF_ENOMEM;
	util_hex(s, p, n);
	int rc = json_object_set_new(o, key, json_string(s));
	free(s);
	return rc ? CF_ENOMEM : 0;
}

int repo_json_get_hex(const json_t *o, const char *key, uint8_t *out, size_t n)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s && util_unhex(out, n, s) == 0 ? 0 : CF_ECORRUPT;
}

/* ---- listings ---- */

static int collect_name(void *ctx, const char *name, uint64_t size)
{
	struct repo_names *l = ctx;
	(void)size;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		void *p = realloc(l->v, cap * sizeof *l->v);
		if (!p)
			return CF_ENOMEM;
		l->v = p;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strdup(name)))
		return CF_ENOMEM;
	l->n++;
	return 0;
}

void repo_names_free(struct repo_names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

int repo_names_list(struct repo *r, const char *prefix, struct repo_names *ret,
	struct cf_error *err)
{
	int rc = dst_list(r->d, prefix, collect_name, ret, err);
	if (rc == CF_ENOMEM)
		cf_error_set(err, rc, "out of memory");
	return rc;
}

/* ---- cache location ---- */

char *repo_cache_dir(const struct repo *r)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	char *base;
	if (r->cache_base)
		base = strdup(r->cache_base);
	else if (xdg && *xdg)
		base = util_path("%s/coffre", xdg);
	else if (geteuid() == 0)
		base = strdup("/var/cache/coffre");
	else if (home && *home)
		base = util_path("%s/.cache/coffre", home);
	else
		return NULL;
	char *dir = base ? util_path("%s/%s", base, r->idhex) : NULL;
	free(base);
	if (dir && util_mkdirs(dir, 0700) != 0) {
		free(dir);
		return NULL;
	}
	return dir;
}
