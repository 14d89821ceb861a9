/* drill_select.c: a snapshot's regular files, and which of them a drill restores within its
 * budget: databases (SQLite files, dumps), files changed since the previous drill, then the
 * rotation. */
#include "maint/drill_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "coffre/dbdump.h"
#include "coffre/error.h"
#include "coffre/tree_walk.h"
#include "base/util.h"

int drill_files_add(struct drill_files *fs, const char *path, const struct tree_entry *e,
	const uint8_t key[32])
{
	if (fs->n == fs->cap) {
		size_t cap = fs->cap ? 2 * fs->cap : 256;
		void *p = realloc(fs->v, cap * sizeof *fs->v);
		if (!p)
			return CF_ENOMEM;
		fs->v = p;
		fs->cap = cap;
	}
	struct drill_file *f = &fs->v[fs->n];
	memset(f, 0, sizeof *f);
	if (!(f->path = strdup(path)))
		return CF_ENOMEM;
	if (e->content == TREE_CONTENT_INLINE && e->nrefs) {
		if (!(f->refs = malloc((size_t)e->nrefs * TREE_REF_BYTES))) {
			free(f->path);
			return CF_ENOMEM;
		}
		memcpy(f->refs, e->refs, (size_t)e->nrefs * TREE_REF_BYTES);
		f->nrefs = e->nrefs;
	}
	f->size = e->size;
	f->mtime_s = e->mtime_s;
	f->mtime_ns = e->mtime_ns;
	f->mode = e->mode;
	f->uid = e->uid;
	f->gid = e->gid;
	f->content = e->content;
	memcpy(f->id, e->id, 32);
	uint8_t h[8];
	crypto_generichash(h, sizeof h, (const uint8_t *)path, strlen(path), key, 32);
	for (int i = 0; i < 8; i++)
		f->hash = f->hash << 8 | h[i];
	fs->bytes += e->size;
	fs->n++;
	return 0;
}

struct walk_ctx {
	struct drill_files *fs;
	const uint8_t *key;
	void (*problem)(void *ctx, const char *path, int code, const char *msg);
	void *pctx;
};

static int on_entry(void *ctx, const char *path, const struct tree_entry *e)
{
	struct walk_ctx *w = ctx;
	if (e->type != TREE_FILE)
		return 0;
	return drill_files_add(w->fs, path, e, w->key);
}

static void on_problem(void *ctx, const char *path, int code, const char *msg)
{
	struct walk_ctx *w = ctx;
	if (w->problem)
		w->problem(w->pctx, path, code, msg);
}

int drill_files_walk(tree_load_fn load, void *lctx, const uint8_t root[32], const uint8_t key[32],
	void (*problem)(void *ctx, const char *path, int code, const char *msg), void *pctx,
	struct drill_files *ret, struct cf_error *err)
{
	struct walk_ctx w = { .fs = ret, .key = key, .problem = problem, .pctx = pctx };
	struct tree_walk_ops ops = { .entry = on_entry, .problem = on_problem, .ctx = &w };
	int rc = tree_walk(load, lctx, root, &ops, err);
	if (rc == CF_ENOMEM)
		cf_error_set(err, rc, "out of memory");
	return rc;
}

static int cmp_path(const void *a, const void *b)
{
	const struct drill_file *const *x = a, *const *y = b;
	return strcmp((*x)->path, (*y)->path);
}

int drill_files_index(struct drill_files *fs)
{
	free(fs->byname);
	fs->byname = NULL;
	if (fs->n == 0)
		return 0;
	if (!(fs->byname = malloc(fs->n * sizeof *fs->byname)))
		return CF_ENOMEM;
	for (size_t i = 0; i < fs->n; i++)
		fs->byname[i] = &fs->v[i];
	qsort(fs->byname, fs->n, sizeof *fs->byname, cmp_path);
	return 0;
}

struct drill_file *drill_files_find(const struct drill_files *fs, const char *path)
{
	if (!fs->byname)
		return NULL;
	struct drill_file key = { .path = (char *)(uintptr_t)path }, *k = &key;
	struct drill_file **f = bsearch(&k, fs->byname, fs->n, sizeof *fs->byname, cmp_path);
	return f ? *f : NULL;
}

void drill_file_entry(const struct drill_file *f, struct tree_entry *ret)
{
	memset(ret, 0, sizeof *ret);
	ret->type = TREE_FILE;
	ret->size = f->size;
	ret->content = f->content;
	ret->nrefs = f->nrefs;
	ret->refs = f->refs;
	memcpy(ret->id, f->id, 32);
}

void drill_files_free(struct drill_files *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		free(fs->v[i].path);
		free(fs->v[i].refs);
	}
	free(fs->v);
	free(fs->byname);
	memset(fs, 0, sizeof *fs);
}

int drill_is_db_name(const char *path)
{
	static const char *const ext[] = { ".db", ".sqlite", ".sqlite3" };
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	size_t n = strlen(base);
	for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
		size_t k = strlen(ext[i]);
		if (n > k && strcasecmp(base + n - k, ext[i]) == 0)
			return 1;
	}
	return 0;
}

int drill_is_dump_path(const char *path)
{
	static const char top[] = "/" DBDUMP_DIR "/";
	size_t k = sizeof top - 1, sl = strlen(DBDUMP_SUFFIX), n = strlen(path);
	if (strncmp(path, top, k) != 0)
		return 0;
	const char *name = path + k, *slash = strchr(name, '/');
	if (!slash || slash == name || strchr(slash + 1, '/'))
		return 0;
	return n > (size_t)(slash + 1 - path) + sl && strcmp(path + n - sl, DBDUMP_SUFFIX) == 0;
}

int drill_take(struct drill_chooser *c, struct drill_file *f, int why)
{
	if (f->why)
		return 1;
	if (f->too_big)
		return 2;
	uint64_t cost = 0;
	int rc = c->cost(c->ctx, f, &cost);
	if (rc)
		return rc;
	if (cost > c->limit) {
		f->too_big = 1;
		if (c->skipped)
			c->skipped(c->ctx, f, cost);
		return 2;
	}
	if (cost > c->limit - c->used)
		return 0;
	if ((rc = c->charge(c->ctx, f)))
		return rc;
	c->used += cost;
	f->why = (uint8_t)why;
	return 1;
}

int drill_choose(struct drill_chooser *c, struct drill_files *fs, struct drill_counts *ret_counts)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < fs->n; i++) {
			struct drill_file *f = &fs->v[i];
			int want = pass == 0 ? drill_is_db_name(f->path) ||
						       drill_is_dump_path(f->path) : f->changed;
			if (!want || f->why)
				continue;
			int rc = drill_take(c, f, pass == 0 ? DRILL_WHY_DB : DRILL_WHY_CHANGED);
			if (rc < 0)
				return rc;
			if (rc == 1 && pass == 0)
				ret_counts->databases++;
			else if (rc == 1)
				ret_counts->changed++;
		}
	}
	return 0;
}

static int cmp_hash(const void *a, const void *b)
{
	const struct drill_file *const *x = a, *const *y = b;
	if ((*x)->hash != (*y)->hash)
		return (*x)->hash < (*y)->hash ? -1 : 1;
	return strcmp((*x)->path, (*y)->path);
}

int drill_rotate(struct drill_chooser *c, struct drill_files *fs, uint64_t *cursor, uint64_t *ret_n)
{
	*ret_n = 0;
	if (fs->n == 0)
		return 0;
	struct drill_file **order = malloc(fs->n * sizeof *order);
	if (!order)
		return CF_ENOMEM;
	for (size_t i = 0; i < fs->n; i++)
		order[i] = &fs->v[i];
	qsort(order, fs->n, sizeof *order, cmp_hash);
	size_t start = 0;
	while (start < fs->n && order[start]->hash <= *cursor)
		start++;
	int rc = 0;
	for (size_t k = 0; k < fs->n; k++) {
		struct drill_file *f = order[(start + k) % fs->n];
		int was = f->why != 0;
		rc = drill_take(c, f, DRILL_WHY_ROTATION);
		if (rc < 0)
			break;
		if (rc == 0)
			break;	/* the next drill starts with it */
		if (rc == 1 && !was)
			(*ret_n)++;
		*cursor = f->hash;
		rc = 0;
	}
	free(order);
	return rc;
}
