/* diff.h: what changed between two snapshots' trees. */
#ifndef COFFRE_DIFF_H
#define COFFRE_DIFF_H

#include <stdint.h>

struct blob_reader;

/* diff_trees(br, a, b, fn, ctx): call ${fn} once per path that differs between the trees
 * ${a} and ${b} (root tree ids), with ${op} '+' (only in b), '-' (only in a) or 'M' (in both,
 * type, mode, owner, size, time, target or content differ); every entry below an added or
 * removed directory is named too. Subtrees with the same id are skipped unread; paths come in
 * name order, parents before children. Returns the number of trees that could not be read
 * (0 when the whole comparison was made). One thread per ${br}. */
int diff_trees(struct blob_reader *br, const uint8_t a[32], const uint8_t b[32],
	void (*fn)(void *ctx, char op, const char *path), void *ctx);

#endif
