/* push_objs.c: the sorted listings of a repository's objects that push, its retention plan
 * and its carrying out share. */
#include <stdlib.h>
#include <string.h>

#include "coffre/dst.h"
#include "coffre/error.h"
#include "coffre/push.h"
#include "maint/push_internal.h"
#include "store/repo_internal.h"

int push_rank_of(const char *name)
{
	if (strcmp(name, "config") == 0)
		return 0;
	if (strncmp(name, "keys/", 5) == 0)
		return 1;
	if (strncmp(name, "data/", 5) == 0)
		return 2;
	if (strncmp(name, "index/", 6) == 0)
		return 3;
	if (strncmp(name, "pins/", 5) == 0)
		return 4;	/* before their snapshots: no moment where one is there unpinned */
	if (strncmp(name, "snapshots/", 10) == 0)
		return 5;
	return -1;	/* locks and anything else stay where they are */
}

int push_obj_add(void *ctx, const char *name, uint64_t size)
{
	struct objs *l = ctx;
	int rank = push_rank_of(name);
	if (rank < 0)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		void *p = realloc(l->v, cap * sizeof *l->v);
		if (!p)
			return CF_ENOMEM;
		l->v = p;
		l->cap = cap;
	}
	if (!(l->v[l->n].name = strdup(name)))
		return CF_ENOMEM;
	l->v[l->n].size = size;
	l->v[l->n].rank = rank;
	l->n++;
	return 0;
}

void push_objs_free(struct objs *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof *l);
}

static int by_rank_name(const void *a, const void *b)
{
	const struct obj *x = a, *y = b;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	return strcmp(x->name, y->name);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct obj *)a)->name, ((const struct obj *)b)->name);
}

int push_list(struct dst *d, struct objs *l, int by_rank, struct cf_error *err)
{
	int rc = dst_list(d, "", push_obj_add, l, err);
	if (rc == CF_ENOMEM)
		return cf_error_set(err, rc, "out of memory");
	if (rc == 0 && l->n > 1)
		qsort(l->v, l->n, sizeof *l->v, by_rank ? by_rank_name : by_name);
	return rc;
}

void push_names_free(struct push_names *l)
{
	for (size_t i = 0; l && i < l->n; i++)
		free(l->v[i]);
	if (l)
		free(l->v);
}

int push_id_of(const char *name, const char *prefix, uint8_t id[32])
{
	size_t n = strlen(prefix);
	return strncmp(name, prefix, n) == 0 && strlen(name + n) == 64 &&
		util_unhex(id, 32, name + n) == 0;
}

const struct obj *push_find(const struct objs *l, const char *name)
{
	struct obj key = { .name = (char *)(uintptr_t)name };
	return l->n ? bsearch(&key, l->v, l->n, sizeof *l->v, by_name) : NULL;
}
