/* backup_parent.c: the parent snapshot, and what it spares. A file whose size, times and inode
 * are those of its entry in the parent keeps that entry's content references without being
 * read; a folder the caller's watcher knows to be clean keeps the parent's subtree unread. */
#include "backup/backup_internal.h"

#include <string.h>
#include <sys/stat.h>

#include "coffre/blob.h"
#include "coffre/snap.h"

int bparent_same_paths(const struct snap *s, char *const *paths, size_t n)
{
	if (s->npaths != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(s->paths[i], paths[i]) != 0)
			return 0;
	return 1;
}

/* How many of ${paths} a snapshot's tree has something of (the path, a folder above it,
 * or one below it). */
static size_t overlap(const struct snap *s, char *const *paths, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < s->npaths; j++)
			if (backup_under(paths[i], s->paths[j]) ||
			    backup_under(s->paths[j], paths[i])) {
				k++;
				break;
			}
	return k;
}

const struct snap *bparent_pick(struct snap *const *list, size_t nlist, const char *host,
	char *const *paths, size_t np)
{
	const struct snap *best = NULL;
	size_t best_k = 0;
	for (size_t i = nlist; i-- > 0;) {
		/* A snapshot dated ahead of the clocks is no parent: a forged one must not decide
		 * what the next backup reads. */
		if (list[i]->future || strcmp(list[i]->hostname, host) != 0)
			continue;
		if (bparent_same_paths(list[i], paths, np))
			return list[i];
		size_t k = overlap(list[i], paths, np);
		if (k > best_k) {
			best = list[i];
			best_k = k;
		}
	}
	return best;
}

/* ---- one directory's entries ---- */

void bparent_open(struct run *R, struct bparent_dir *pd, const uint8_t *tree)
{
	*pd = (struct bparent_dir){ 0 };
	if (tree && tree_iter_new(1, tree, blob_reader_load, R->br, &pd->it, NULL) != 0)
		pd->it = NULL;	/* an unreadable parent only costs re-reading */
}

const struct tree_entry *bparent_find(struct bparent_dir *pd, const char *name)
{
	/* Both sides are sorted: advance the parent up to ${name}. */
	while (pd->it && !pd->done) {
		if (!pd->have) {
			int rc = tree_iter_next_entry(pd->it, &pd->e, NULL);
			if (rc < 0) {
				/* A damaged parent: what is left of it is read again. */
				tree_iter_free(pd->it);
				pd->it = NULL;
				return NULL;
			}
			if (rc == 0) {
				pd->done = 1;
				break;
			}
			pd->have = 1;
		}
		int c = strcmp(pd->e.name, name);
		if (c == 0)
			return &pd->e;
		if (c > 0)
			return NULL;
		pd->have = 0;
	}
	return NULL;
}

void bparent_close(struct bparent_dir *pd)
{
	tree_iter_free(pd->it);
	pd->it = NULL;
}

/* ---- the shortcuts ---- */

int bparent_reuse_file(struct tree_entry *e, const struct tree_entry *pe, const struct stat *st)
{
	if (!pe || pe->type != TREE_FILE || pe->size != (uint64_t)st->st_size ||
	    pe->mtime_s != st->st_mtim.tv_sec || pe->mtime_ns != st->st_mtim.tv_nsec ||
	    pe->ctime_s != st->st_ctim.tv_sec || pe->ctime_ns != st->st_ctim.tv_nsec ||
	    pe->ino != st->st_ino)
		return 0;
	/* Unchanged: same content and, ctime being equal, same xattrs. */
	e->content = pe->content;
	e->nrefs = pe->nrefs;
	e->refs = pe->refs;
	memcpy(e->id, pe->id, 32);
	e->nxattrs = pe->nxattrs;
	e->xattrs = pe->xattrs;
	e->xattrslen = pe->xattrslen;
	return 1;
}

/* Does the parent snapshot hold the folder ${path} whole? Not where it only holds the way
 * to some of its paths (it had /a/b, this run backs up /a). */
static int parent_whole(const struct run *R, const char *path)
{
	if (!R->parent_paths)
		return 1;
	for (size_t i = 0; i < R->parent_npaths; i++)
		if (backup_under(path, R->parent_paths[i]))
			return 1;
	return 0;
}

int bparent_reuse_dir(struct run *R, struct tree_entry *e, const struct tree_entry *pe,
	const struct stat *st, const char *path)
{
	/* The callback comes last: it is asked only about a folder that could be reused. */
	if (!pe || pe->type != TREE_DIR || !R->o->clean || pe->mtime_s != st->st_mtim.tv_sec ||
	    pe->mtime_ns != st->st_mtim.tv_nsec || !parent_whole(R, path) ||
	    !R->o->clean(R->o->ctx, path))
		return 0;
	/* Nothing changed at or below (the watcher says so): the parent's subtree is this one,
	 * without reading it. */
	memcpy(e->id, pe->id, 32);
	e->nxattrs = pe->nxattrs;
	e->xattrs = pe->xattrs;
	e->xattrslen = pe->xattrslen;
	return 1;
}
