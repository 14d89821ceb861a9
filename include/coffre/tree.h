/* tree.h: directory trees and chunk lists, stored as trees of metadata blobs split at
 * content-defined points so that an unchanged stretch is shared between versions. */
#ifndef COFFRE_TREE_H
#define COFFRE_TREE_H

#include <stddef.h>
#include <stdint.h>

struct cf_error;
struct buf;

enum tree_type {
	TREE_FILE = 1,
	TREE_DIR = 2,
	TREE_SYMLINK = 3,
	TREE_FIFO = 4,
	_TREE_TYPE_MAX
};

/* How a file's content is referenced. */
enum tree_content {
	TREE_CONTENT_NONE = 0,
	TREE_CONTENT_INLINE = 1,	/* chunk refs inline in the entry */
	TREE_CONTENT_LIST = 2,		/* root of a chunk-list tree */
};

#define TREE_REF_BYTES 36	/* a chunk ref: 32-byte id, u32 length */
#define TREE_INLINE_MAX 32	/* files with up to this many chunks keep them inline */
#define TREE_NAME_MAX 255
#define TREE_TARGET_MAX 4095
#define TREE_XATTR_MAX (64u << 10)

/* A directory entry. Pointers are borrowed: from the node being read, or from the caller
 * when encoding. */
struct tree_entry {
	const char *name;	/* one path component: no '/', no NUL, not "." or ".." */
	size_t namelen;
	uint8_t type;
	uint32_t mode, uid, gid, nlink;
	int64_t mtime_s, ctime_s;
	uint32_t mtime_ns, ctime_ns;
	uint64_t ino, dev, size;
	uint8_t content;	/* enum tree_content, files only */
	uint32_t nrefs;		/* inline refs */
	const uint8_t *refs;	/* nrefs * TREE_REF_BYTES */
	uint8_t id[32];		/* list root (files) or subtree (dirs) */
	const char *target;	/* symlinks */
	size_t targetlen;
	uint16_t nxattrs;
	const uint8_t *xattrs;	/* serialised: u16 klen, key, u32 vlen, value */
	size_t xattrslen;
};

/* Stores a metadata blob and returns its id (the backup's dedup-and-pack path). */
typedef int (*tree_store_fn)(void *ctx, const uint8_t *data, size_t n, uint8_t ret_id[32],
	struct cf_error *err);
/* Loads a metadata blob by id, verified. */
typedef int (*tree_load_fn)(void *ctx, const uint8_t id[32], struct buf *ret,
	struct cf_error *err);

struct tree_builder;

/* tree_builder_new(is_dir, splitkey, store, ctx, ret): a builder for a directory (records are
 * encoded entries, fed in strictly increasing name order) or for a chunk list. ${splitkey}
 * (16 bytes) keys the split points of directories. */
int tree_builder_new(int is_dir, const uint8_t splitkey[16], tree_store_fn store, void *ctx,
	struct tree_builder **ret);
/* tree_builder_add_entry(b, e, err): append a directory entry. */
int tree_builder_add_entry(struct tree_builder *b, const struct tree_entry *e,
	struct cf_error *err);
/* tree_builder_add_ref(b, id, len, err): append a chunk ref to a list. */
int tree_builder_add_ref(struct tree_builder *b, const uint8_t id[32], uint32_t len,
	struct cf_error *err);
/* tree_builder_finish(b, ret_root, err): store the remaining nodes; the root's id. */
int tree_builder_finish(struct tree_builder *b, uint8_t ret_root[32], struct cf_error *err);
uint64_t tree_builder_count(const struct tree_builder *b);
void tree_builder_free(struct tree_builder *b);

/* Reading: an iterator over a directory's entries or a list's chunk refs. Every node is
 * checked as it is read (kinds, levels, counts, names, order); a node that fails stops the
 * iteration with CF_ECORRUPT. */
struct tree_iter;
int tree_iter_new(int is_dir, const uint8_t root[32], tree_load_fn load, void *ctx,
	struct tree_iter **ret, struct cf_error *err);
/* tree_iter_next_entry(it, ret, err): 1 and ${ret} (valid until the next call), 0 at the end,
 * or CF_E*. */
int tree_iter_next_entry(struct tree_iter *it, struct tree_entry *ret, struct cf_error *err);
/* tree_iter_on_refused(it, fn, ctx): entries that are well formed but unsafe (a name with
 * '/', NUL, ".", "..", too long; a duplicate or out-of-order name) are skipped by
 * tree_iter_next_entry; ${fn} is told of each, with a printable form of its name. */
void tree_iter_on_refused(struct tree_iter *it,
	void (*fn)(void *ctx, const char *shown_name, const char *reason), void *ctx);
/* tree_iter_next_ref(it, ret_id, ret_len, err): 1, 0 at the end, or CF_E*. */
int tree_iter_next_ref(struct tree_iter *it, uint8_t ret_id[32], uint32_t *ret_len,
	struct cf_error *err);
void tree_iter_free(struct tree_iter *it);

/* tree_name_ok(name, n): 1 if ${name} is a safe single path component. */
int tree_name_ok(const char *name, size_t n);

/* tree_entry_encode(e, out): append the encoded entry (used by tests and builders); 0 or
 * CF_ENOMEM. */
int tree_entry_encode(const struct tree_entry *e, struct buf *out);

#endif
