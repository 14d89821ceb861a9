/* restore_feed.h: the reading half of a restore. A thread walks a snapshot's tree and reads, opens
 * and checks the content of each file ahead of the writer, which takes entries and data in
 * tree order from a bounded queue. */
#ifndef COFFRE_RESTORE_FEED_H
#define COFFRE_RESTORE_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/tree.h"

struct blob_reader;
struct cf_error;
struct repo;
struct restore_feed;

enum restore_feed_kind {
	RESTORE_FEED_ENTRY = 1,		/* path, e, verdict; a file with RESTORE_FEED_OK is followed by its data */
	RESTORE_FEED_DATA,		/* the next bytes of the current file: data, len; data NULL:
				 * len zero bytes (a chunk of zeros, a hole on disk) */
	RESTORE_FEED_FILE_END,		/* the current file is complete (code 0) or damaged (code, msg) */
	RESTORE_FEED_PROBLEM,		/* a subtree that cannot be read or is refused: path, code, msg */
};

/* Verdicts on a file entry, found before any of its data is read. */
#define RESTORE_FEED_OK 0
#define RESTORE_FEED_MISMATCH 1		/* its chunk list cannot add up to its declared size */
#define RESTORE_FEED_DAMAGED 2		/* its chunk list cannot be read (msg) */

struct restore_feed_item {
	int kind;
	int code;		/* RESTORE_FEED_ENTRY: verdict; RESTORE_FEED_FILE_END, RESTORE_FEED_PROBLEM: CF_E* or 0 */
	const char *path;
	struct tree_entry e;	/* RESTORE_FEED_ENTRY; name and refs are not set */
	const uint8_t *data;	/* RESTORE_FEED_DATA */
	size_t len;
	const char *msg;
};

/* Which entries the walk yields, as a feed_select_fn says. It is called from the feed's
 * thread: it must only read what does not change meanwhile. */
enum feed_select {
	RESTORE_FEED_ALL = 0,	/* the entry and what is under it */
	RESTORE_FEED_SKIP = 1,	/* neither */
	RESTORE_FEED_WAY = 2,	/* a directory on the way to a selected path: the entry, and a look
			 * inside; any other kind of entry is skipped */
	RESTORE_FEED_PASS = 3,	/* not the entry, but a look inside (a directory) */
};
typedef int (*feed_select_fn)(void *ctx, const char *path, const struct tree_entry *e);

/* restore_feed_start(r, br, root, select, ctx, ret, err): start the thread. ${br} is used by it alone
 * until restore_feed_free. Data in the queue is bounded to a few MiB. */
int restore_feed_start(struct repo *r, struct blob_reader *br, const uint8_t root[32],
	feed_select_fn select, void *ctx, struct restore_feed **ret, struct cf_error *err);
/* restore_feed_next(f, ret, err): 1 and the next item (valid until the next call), 0 at the end, or
 * the CF_E* that stopped the walk (${err} set). */
int restore_feed_next(struct restore_feed *f, struct restore_feed_item *ret, struct cf_error *err);
/* restore_feed_free(f): stop the thread (even mid-walk) and free. */
void restore_feed_free(struct restore_feed *f);

#endif
