/* tree.c: encoding, building and reading directory trees and chunk lists. */
#include "coffre/tree.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "coffre/error.h"
#include "base/util.h"

#define NODE_DIR 1
#define NODE_LIST 2
#define NODE_HDR 6	/* u8 kind, u8 level, u32 count */
#define INNER_REC 40	/* child id, u64 weight */
#define MAX_LEVELS 8
/* No builder writes an entry the reader refuses: past this many in one directory, its tree is
 * forged (inner nodes that name one node again and again multiply its refused entries
 * without end), and the iteration stops. */
#define MAX_REFUSED 4096

/* Split rules: a node ends after a record whose split hash is 0 modulo F, once it holds MIN
 * records, and always at MAX. Chunk ids are keyed hashes already; entry names are hashed
 * with SipHash under a repository key so that split points leak nothing. */
struct split_rule {
	uint32_t f_mask, min, max;
	size_t max_bytes;
};
static const struct split_rule list_rule = { 31, 8, 1024, 1u << 20 };
static const struct split_rule dir_rule = { 63, 32, 4096, 1u << 20 };
static const struct split_rule inner_rule = { 31, 4, 1024, 1u << 20 };

struct level {
	struct buf b;
	uint32_t count;
	uint64_t weight;
	uint32_t emitted;
};

struct tree_builder {
	int is_dir;
	uint8_t splitkey[16];
	tree_store_fn store;
	void *ctx;
	struct level lv[MAX_LEVELS];
	int nlv;
	uint64_t total;
	char last[TREE_NAME_MAX + 1];
	size_t lastlen;
	int have_last;
};

int tree_name_ok(const char *name, size_t n)
{
	if (n == 0 || n > TREE_NAME_MAX)
		return 0;
	if (memchr(name, '/', n) || memchr(name, 0, n))
		return 0;
	if ((n == 1 && name[0] == '.') || (n == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	return 1;
}

int tree_entry_encode(const struct tree_entry *e, struct buf *o)
{
	int bad = buf_put_u16(o, (uint16_t)e->namelen) || buf_append(o, e->name, e->namelen) ||
		  buf_put_u8(o, e->type) || buf_put_u32(o, e->mode) || buf_put_u32(o, e->uid) ||
		  buf_put_u32(o, e->gid) || buf_put_u32(o, e->nlink) ||
		  buf_put_u64(o, (uint64_t)e->mtime_s) || buf_put_u32(o, e->mtime_ns) ||
		  buf_put_u64(o, (uint64_t)e->ctime_s) || buf_put_u32(o, e->ctime_ns) ||
		  buf_put_u64(o, e->ino) || buf_put_u64(o, e->dev) || buf_put_u64(o, e->size) ||
		  buf_put_u16(o, e->nxattrs) || buf_put_u32(o, (uint32_t)e->xattrslen) ||
		  buf_append(o, e->xattrs, e->xattrslen);
	if (bad)
		return CF_ENOMEM;
	switch (e->type) {
	case TREE_FILE:
		if (buf_put_u8(o, e->content))
			return CF_ENOMEM;
		if (e->content == TREE_CONTENT_INLINE)
			bad = buf_put_u32(o, e->nrefs) ||
			      buf_append(o, e->refs, (size_t)e->nrefs * TREE_REF_BYTES);
		else if (e->content == TREE_CONTENT_LIST)
			bad = buf_append(o, e->id, 32);
		break;
	case TREE_DIR:
		bad = buf_append(o, e->id, 32);
		break;
	case TREE_SYMLINK:
		bad = buf_put_u16(o, (uint16_t)e->targetlen) ||
		      buf_append(o, e->target, e->targetlen);
		break;
	default:
		break;
	}
	return bad ? CF_ENOMEM : 0;
}

int tree_builder_new(int is_dir, const uint8_t splitkey[16], tree_store_fn store, void *ctx,
	struct tree_builder **ret)
{
	struct tree_builder *b = calloc(1, sizeof *b);
	if (!b)
		return CF_ENOMEM;
	b->is_dir = is_dir;
	if (splitkey)
		memcpy(b->splitkey, splitkey, 16);
	b->store = store;
	b->ctx = ctx;
	*ret = b;
	return 0;
}

void tree_builder_free(struct tree_builder *b)
{
	if (!b)
		return;
	for (int i = 0; i < MAX_LEVELS; i++)
		buf_free(&b->lv[i].b);
	free(b);
}

uint64_t tree_builder_count(const struct tree_builder *b)
{
	return b->total;
}

static int level_start(struct tree_builder *b, int l)
{
	struct level *v = &b->lv[l];
	if (v->b.len == 0) {
		uint8_t hdr[NODE_HDR] = { (uint8_t)(b->is_dir ? NODE_DIR : NODE_LIST), (uint8_t)l };
		if (buf_append(&v->b, hdr, NODE_HDR))
			return CF_ENOMEM;
	}
	if (l >= b->nlv)
		b->nlv = l + 1;
	return 0;
}

static int push(struct tree_builder *b, int l, const void *rec, size_t n, uint32_t split,
	uint64_t weight, struct cf_error *err);

/* Stores the node at level ${l} and passes its reference up. */
static int emit(struct tree_builder *b, int l, uint8_t ret_id[32], struct cf_error *err)
{
	struct level *v = &b->lv[l];
	le32_put(v->b.p + 2, v->count);
	uint8_t id[32];
	int rc = b->store(b->ctx, v->b.p, v->b.len, id, err);
	if (rc)
		return rc;
	uint64_t w = v->weight;
	v->b.len = 0;
	v->count = 0;
	v->weight = 0;
	v->emitted++;
	if (ret_id) {
		memcpy(ret_id, id, 32);
		return 0;
	}
	if (l + 1 >= MAX_LEVELS)
		return cf_error_set(err, CF_EUSAGE, "tree too deep");
	uint8_t rec[INNER_REC];
	memcpy(rec, id, 32);
	for (int i = 0; i < 8; i++)
		rec[32 + i] = (uint8_t)(w >> (8 * i));
	return push(b, l + 1, rec, sizeof rec, le32_get(id), w, err);
}

static int push(struct tree_builder *b, int l, const void *rec, size_t n, uint32_t split,
	uint64_t weight, struct cf_error *err)
{
	if (level_start(b, l) || buf_append(&b->lv[l].b, rec, n))
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	struct level *v = &b->lv[l];
	v->count++;
	v->weight += weight;
	const struct split_rule *s = l > 0 ? &inner_rule : b->is_dir ? &dir_rule : &list_rule;
	if ((v->count >= s->min && (split & s->f_mask) == 0) || v->count >= s->max ||
	    v->b.len >= s->max_bytes)
		return emit(b, l, NULL, err);
	return 0;
}

int tree_builder_add_entry(struct tree_builder *b, const struct tree_entry *e,
	struct cf_error *err)
{
	if (!tree_name_ok(e->name, e->namelen))
		return cf_error_set(err, CF_EUSAGE, "invalid entry name");
	if (b->have_last) {
		size_t m = e->namelen < b->lastlen ? e->namelen : b->lastlen;
		int c = memcmp(b->last, e->name, m);
		if (c > 0 || (c == 0 && b->lastlen >= e->namelen))
			return cf_error_set(err, CF_EUSAGE, "entries out of order");
	}
	memcpy(b->last, e->name, e->namelen);
	b->lastlen = e->namelen;
	b->have_last = 1;
	struct buf rec = { 0 };
	if (tree_entry_encode(e, &rec)) {
		buf_free(&rec);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	uint8_t h[crypto_shorthash_BYTES];
	crypto_shorthash(h, (const uint8_t *)e->name, e->namelen, b->splitkey);
	b->total++;
	int rc = push(b, 0, rec.p, rec.len, le32_get(h), 1, err);
	buf_free(&rec);
	return rc;
}

int tree_builder_add_ref(struct tree_builder *b, const uint8_t id[32], uint32_t len,
	struct cf_error *err)
{
	uint8_t rec[TREE_REF_BYTES];
	memcpy(rec, id, 32);
	le32_put(rec + 32, len);
	b->total++;
	return push(b, 0, rec, sizeof rec, le32_get(id), len, err);
}

int tree_builder_finish(struct tree_builder *b, uint8_t ret_root[32], struct cf_error *err)
{
	if (b->nlv == 0 && level_start(b, 0))
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	for (int l = 0;; l++) {
		struct level *v = &b->lv[l];
		int top = l + 1 >= b->nlv;
		if (top && v->emitted == 0) {
			/* A single reference at the top is the root itself. */
			if (l > 0 && v->count == 1) {
				memcpy(ret_root, v->b.p + NODE_HDR, 32);
				return 0;
			}
			if (v->b.len == 0 && level_start(b, l))
				return cf_error_set(err, CF_ENOMEM, "out of memory");
			return emit(b, l, ret_root, err);
		}
		if (v->count > 0) {
			int rc = emit(b, l, NULL, err);
			if (rc)
				return rc;
		}
		if (l + 1 >= MAX_LEVELS)
			return cf_error_set(err, CF_EUSAGE, "tree too deep");
	}
}

/* ---- reading ---- */

struct frame {
	struct buf node;
	struct rd rd;
	uint32_t left;
	uint8_t level;
};

struct tree_iter {
	int is_dir;
	tree_load_fn load;
	void *ctx;
	struct frame st[MAX_LEVELS];
	int depth;	/* frames in use */
	char name[TREE_NAME_MAX + 1];
	char target[TREE_TARGET_MAX + 1];
	char last[TREE_NAME_MAX + 1];
	char shown[1024];
	void (*refused)(void *ctx, const char *shown_name, const char *reason);
	void *refused_ctx;
	uint32_t nrefused;
	size_t lastlen;
	int have_last;
	int failed;
};

static int load_node(struct tree_iter *it, const uint8_t id[32], int want_level,
	struct cf_error *err)
{
	if (it->depth >= MAX_LEVELS)
		return cf_error_set(err, CF_ECORRUPT, "tree node nesting too deep");
	struct frame *f = &it->st[it->depth];
	f->node.len = 0;
	int rc = it->load(it->ctx, id, &f->node, err);
	if (rc)
		return rc;
	rd_init(&f->rd, f->node.p, f->node.len);
	uint8_t kind = rd_u8(&f->rd);
	uint8_t level = rd_u8(&f->rd);
	uint32_t count = rd_u32(&f->rd);
	char hex[65];
	util_hex(hex, id, 32);
	if (f->rd.bad || kind != (it->is_dir ? NODE_DIR : NODE_LIST) || level >= MAX_LEVELS ||
	    (want_level >= 0 && level != want_level))
		return cf_error_set(err, CF_ECORRUPT, "tree node %.16s has the wrong kind or level",
			hex);
	/* Builders store no empty node but an empty root: a forged tree of empty children
	 * would keep the iterator loading nodes without end, handing out nothing. */
	if (want_level >= 0 && count == 0)
		return cf_error_set(err, CF_ECORRUPT, "tree node %.16s is empty", hex);
	f->level = level;
	f->left = count;
	it->depth++;
	return 0;
}

int tree_iter_new(int is_dir, const uint8_t root[32], tree_load_fn load, void *ctx,
	struct tree_iter **ret, struct cf_error *err)
{
	struct tree_iter *it = calloc(1, sizeof *it);
	if (!it)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	it->is_dir = is_dir;
	it->load = load;
	it->ctx = ctx;
	int rc = load_node(it, root, -1, err);
	if (rc) {
		tree_iter_free(it);
		return rc;
	}
	*ret = it;
	return 0;
}

void tree_iter_free(struct tree_iter *it)
{
	if (!it)
		return;
	for (int i = 0; i < MAX_LEVELS; i++)
		buf_free(&it->st[i].node);
	free(it);
}

/* Positions the top frame on a level-0 record; returns 1, 0 at the end, or CF_E*. */
static int advance(struct tree_iter *it, struct cf_error *err)
{
	if (it->failed)
		return it->failed;
	for (;;) {
		if (it->depth == 0)
			return 0;
		struct frame *f = &it->st[it->depth - 1];
		if (f->left == 0) {
			if (rd_left(&f->rd) != 0)
				return it->failed = cf_error_set(err, CF_ECORRUPT,
					"tree node has trailing bytes");
			it->depth--;
			continue;
		}
		if (f->level == 0)
			return 1;
		f->left--;
		const uint8_t *rec = rd_bytes(&f->rd, INNER_REC);
		if (!rec)
			return it->failed = cf_error_set(err, CF_ECORRUPT, "tree node is truncated");
		uint8_t child[32];
		memcpy(child, rec, 32);
		int rc = load_node(it, child, f->level - 1, err);
		if (rc)
			return it->failed = rc;
	}
}

/* A name fit for messages: unsafe bytes as \xNN, cut at a reasonable length. */
static void show_name(char *out, size_t cap, const uint8_t *name, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 8 < cap; i++) {
		if (name[i] < 0x20 || name[i] == '/' || name[i] == '\\' || name[i] == 0x7f)
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", name[i]);
		else
			out[o++] = (char)name[i];
	}
	if (o + 8 >= cap && n)
		o += (size_t)snprintf(out + o, cap - o, "...");
	out[o] = 0;
}

/* Decodes one record. Returns 0, 1 when the record is well formed but its entry must be
 * refused (its display name in it->shown), or -1 when the node is malformed. */
static int decode_entry(struct tree_iter *it, struct rd *r, struct tree_entry *e)
{
	memset(e, 0, sizeof *e);
	uint16_t nl = rd_u16(r);
	const uint8_t *name = rd_bytes(r, nl);
	if (!name)
		return -1;
	/* The record is self-delimiting: an unsafe name costs that entry only. */
	int refuse = !tree_name_ok((const char *)name, nl);
	if (refuse) {
		show_name(it->shown, sizeof it->shown, name, nl);
		it->name[0] = 0;
		nl = 0;
	} else {
		memcpy(it->name, name, nl);
	}
	it->name[nl] = 0;
	e->name = it->name;
	e->namelen = nl;
	e->type = rd_u8(r);
	e->mode = rd_u32(r);
	e->uid = rd_u32(r);
	e->gid = rd_u32(r);
	e->nlink = rd_u32(r);
	e->mtime_s = (int64_t)rd_u64(r);
	e->mtime_ns = rd_u32(r);
	e->ctime_s = (int64_t)rd_u64(r);
	e->ctime_ns = rd_u32(r);
	e->ino = rd_u64(r);
	e->dev = rd_u64(r);
	e->size = rd_u64(r);
	e->nxattrs = rd_u16(r);
	uint32_t xl = rd_u32(r);
	if (xl > TREE_XATTR_MAX)
		return -1;
	e->xattrs = rd_bytes(r, xl);
	e->xattrslen = xl;
	if (r->bad || e->type == 0 || e->type >= _TREE_TYPE_MAX || e->mtime_ns >= 1000000000u ||
	    e->ctime_ns >= 1000000000u)
		return -1;
	e->mode &= 07777;
	switch (e->type) {
	case TREE_FILE:
		e->content = rd_u8(r);
		if (e->content == TREE_CONTENT_INLINE) {
			e->nrefs = rd_u32(r);
			if (e->nrefs > rd_left(r) / TREE_REF_BYTES)
				return -1;
			e->refs = rd_bytes(r, (size_t)e->nrefs * TREE_REF_BYTES);
		} else if (e->content == TREE_CONTENT_LIST) {
			const uint8_t *id = rd_bytes(r, 32);
			if (id)
				memcpy(e->id, id, 32);
		} else if (e->content != TREE_CONTENT_NONE) {
			return -1;
		}
		break;
	case TREE_DIR: {
		const uint8_t *id = rd_bytes(r, 32);
		if (id)
			memcpy(e->id, id, 32);
		break;
	}
	case TREE_SYMLINK: {
		uint16_t tl = rd_u16(r);
		const uint8_t *t = rd_bytes(r, tl);
		if (!t || tl == 0 || tl > TREE_TARGET_MAX || memchr(t, 0, tl))
			return -1;
		memcpy(it->target, t, tl);
		it->target[tl] = 0;
		e->target = it->target;
		e->targetlen = tl;
		break;
	}
	default:
		break;
	}
	return r->bad ? -1 : refuse;
}

int tree_iter_next_entry(struct tree_iter *it, struct tree_entry *ret, struct cf_error *err)
{
	if (!it->is_dir)
		return cf_error_set(err, CF_EUSAGE, "not a directory iterator");
	for (;;) {
		int rc = advance(it, err);
		if (rc <= 0)
			return rc;
		struct frame *f = &it->st[it->depth - 1];
		f->left--;
		int d = decode_entry(it, &f->rd, ret);
		if (d < 0)
			return it->failed = cf_error_set(err, CF_ECORRUPT, "tree entry is malformed");
		const char *why = NULL;
		if (d > 0) {
			why = "refused: unsafe name";
		} else if (it->have_last) {
			/* Names strictly increase: no duplicate can shadow another. */
			size_t m = ret->namelen < it->lastlen ? ret->namelen : it->lastlen;
			int c = memcmp(it->last, ret->name, m);
			if (c > 0 || (c == 0 && it->lastlen >= ret->namelen)) {
				show_name(it->shown, sizeof it->shown, (const uint8_t *)ret->name,
					ret->namelen);
				why = "refused: duplicate or out-of-order name";
			}
		}
		if (why) {
			if (++it->nrefused > MAX_REFUSED)
				return it->failed = cf_error_set(err, CF_ECORRUPT,
					"directory has too many refused entries");
			if (it->refused)
				it->refused(it->refused_ctx, it->shown, why);
			continue;
		}
		memcpy(it->last, ret->name, ret->namelen);
		it->lastlen = ret->namelen;
		it->have_last = 1;
		return 1;
	}
}

void tree_iter_on_refused(struct tree_iter *it,
	void (*fn)(void *ctx, const char *shown_name, const char *reason), void *ctx)
{
	it->refused = fn;
	it->refused_ctx = ctx;
}

int tree_iter_next_ref(struct tree_iter *it, uint8_t ret_id[32], uint32_t *ret_len,
	struct cf_error *err)
{
	if (it->is_dir)
		return cf_error_set(err, CF_EUSAGE, "not a list iterator");
	int rc = advance(it, err);
	if (rc <= 0)
		return rc;
	struct frame *f = &it->st[it->depth - 1];
	f->left--;
	const uint8_t *rec = rd_bytes(&f->rd, TREE_REF_BYTES);
	if (!rec)
		return it->failed = cf_error_set(err, CF_ECORRUPT, "chunk list is truncated");
	memcpy(ret_id, rec, 32);
	*ret_len = le32_get(rec + 32);
	return 1;
}
