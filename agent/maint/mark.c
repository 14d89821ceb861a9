/* mark.c: the blobs a set of snapshots reaches. */
#include "maint/mark.h"

#include <stdio.h>

#include "coffre/error.h"
#include "coffre/tree_walk.h"

static int mark_load(void *ctx, const uint8_t id[32], struct buf *ret, struct cf_error *err)
{
	struct mark *m = ctx;
	int rc = m->load(m->lctx, id, ret, err);
	if (rc == 0 && idset_add(&m->used, id))
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
	return rc;
}

static int mark_ref(void *ctx, const uint8_t id[32], uint32_t len)
{
	struct mark *m = ctx;
	(void)len;
	return idset_add(&m->used, id) ? CF_ENOMEM : 0;
}

static int mark_entry(void *ctx, const char *path, const struct tree_entry *e)
{
	struct mark *m = ctx;
	(void)path;
	if (e->type == TREE_DIR)
		return idset_has(&m->used, e->id) ? 1 : 0;	/* walked already */
	if (e->type != TREE_FILE)
		return 0;
	if (e->content == TREE_CONTENT_LIST && idset_has(&m->used, e->id))
		return 0;
	struct cf_error e2 = { 0 };
	/* Checked: a forged list repeating one child would keep the walk going for ever; a list
	 * that does not match its file's size is damage. */
	int rc = tree_walk_refs_checked(mark_load, m, e, m->min_chunk, mark_ref, m, &e2);
	if (rc == CF_ENOMEM)
		return rc;
	if (rc)
		m->damaged++;
	return 0;
}

static void mark_problem(void *ctx, const char *path, int code, const char *msg)
{
	struct mark *m = ctx;
	(void)code;
	m->damaged++;
	if (m->report) {
		char line[800];
		snprintf(line, sizeof line, "'%s': %s", path, msg);
		m->report(m->rctx, line);
	}
}

int mark_tree(struct mark *m, const uint8_t root[32], struct cf_error *err)
{
	if (idset_has(&m->used, root))
		return 0;
	struct tree_walk_ops ops = { .entry = mark_entry, .problem = mark_problem, .ctx = m };
	return tree_walk(mark_load, m, root, &ops, err);
}

void mark_free(struct mark *m)
{
	idset_free(&m->used);
}
