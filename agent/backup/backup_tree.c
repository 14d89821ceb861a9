/* backup_tree.c: a directory's entries into its tree, in name order, while the content of its
 * files is still with the workers: an entry that cannot go into the tree yet (a file being
 * hashed, or any entry after one) waits in the directory's queue, owning a copy of what it
 * points to, and the tree nodes are stored as the builder fills them. */
#include "backup/backup_internal.h"

#include <stdlib.h>
#include <string.h>

#include "store/repo_internal.h"

/* Beyond this many waiting entries, the directory waits for the workers: its queue stays
 * small whatever its size. */
#define DIRQ_MAX 4096

int btree_dirq_init(struct run *R, struct dirq *q)
{
	*q = (struct dirq){ .tail = &q->head };
	if (tree_builder_new(1, R->r->k->split, bstore_tree, R, &q->b))
		return cf_error_set(R->err, CF_ENOMEM, "out of memory");
	return 0;
}

static void pend_free(struct pend *p)
{
	if (!p)
		return;
	buf_free(&p->own);
	buf_free(&p->xa);
	buf_free(&p->c.inl);
	tree_builder_free(p->c.list);
	bdetect_seal_free(p->seal);
	free(p);
}

static int pend_ready(const struct pend *p)
{
	return !p->reading && p->ncons == p->nsub;
}

/* A copy of ${e} (and of the bytes it borrows), at the tail of ${q}. */
static struct pend *pend_push(struct dirq *q, const struct tree_entry *e)
{
	struct pend *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->e = *e;
	size_t nrefs = e->type == TREE_FILE && e->content == TREE_CONTENT_INLINE ? e->nrefs : 0;
	if (buf_reserve(&p->own, e->namelen + 1 + e->targetlen + 1 + e->xattrslen +
					 nrefs * TREE_REF_BYTES + 1)) {
		free(p);
		return NULL;
	}
	uint8_t *o = p->own.p;
	memcpy(o, e->name, e->namelen);
	o[e->namelen] = 0;
	p->e.name = (const char *)o;
	o += e->namelen + 1;
	if (e->target) {
		memcpy(o, e->target, e->targetlen);
		o[e->targetlen] = 0;
		p->e.target = (const char *)o;
		o += e->targetlen + 1;
	}
	if (e->xattrslen) {
		memcpy(o, e->xattrs, e->xattrslen);
		p->e.xattrs = o;
		o += e->xattrslen;
	}
	if (nrefs) {
		memcpy(o, e->refs, nrefs * TREE_REF_BYTES);
		p->e.refs = o;
	}
	*q->tail = p;
	q->tail = &p->next;
	q->n++;
	return p;
}

struct pend *btree_dirq_add_file(struct dirq *q, const struct tree_entry *e)
{
	struct pend *p = pend_push(q, e);
	if (p)
		p->read = p->reading = 1;
	return p;
}

int btree_dirq_flush(struct run *R, struct dirq *q)
{
	int rc = 0;
	while (rc == 0 && q->head && pend_ready(q->head)) {
		struct pend *p = q->head;
		if (!p->skip && p->read) {
			struct content *c = &p->c;
			if (c->list) {
				rc = tree_builder_finish(c->list, p->e.id, R->err);
				p->e.content = TREE_CONTENT_LIST;
			} else {
				p->e.content = c->n ? TREE_CONTENT_INLINE : TREE_CONTENT_NONE;
				p->e.nrefs = c->n;
				p->e.refs = c->inl.p;
			}
		}
		if (rc == 0 && !p->skip && p->seal)
			bdetect_seal_end(R, p->seal);
		if (rc == 0 && !p->skip)
			rc = tree_builder_add_entry(q->b, &p->e, R->err);
		q->head = p->next;
		if (!q->head)
			q->tail = &q->head;
		q->n--;
		pend_free(p);
	}
	return rc;
}

int btree_dirq_add(struct run *R, struct dirq *q, const struct tree_entry *e)
{
	int rc;
	if (q->n >= DIRQ_MAX && ((rc = bstore_drain(R)) || (rc = btree_dirq_flush(R, q))))
		return rc;
	if (!q->head)
		return tree_builder_add_entry(q->b, e, R->err);
	if (!pend_push(q, e))
		return cf_error_set(R->err, CF_ENOMEM, "out of memory");
	return 0;
}

int btree_dirq_finish(struct run *R, struct dirq *q, uint8_t ret_tree[32])
{
	int rc = bstore_drain(R);
	if (rc == 0)
		rc = btree_dirq_flush(R, q);
	if (rc == 0 && q->head)
		rc = cf_error_set(R->err, CF_EIO, "internal error: entries left behind");
	return rc ? rc : tree_builder_finish(q->b, ret_tree, R->err);
}

void btree_dirq_release(struct dirq *q)
{
	while (q->head) {
		struct pend *p = q->head;
		q->head = p->next;
		pend_free(p);
	}
	q->tail = &q->head;
	q->n = 0;
	tree_builder_free(q->b);
	q->b = NULL;
}
