/* gen_corpus.c: seed corpora for the fuzz targets, made by the real engine. It backs up a
 * small shop folder twice into a fresh repository, opens the objects (snapshots, indexes)
 * and the tree blobs the way a restore reads them, and writes their plaintext in the shapes
 * the targets take; then a few hand-made edge cases.
 *
 *   gen_corpus OUTDIR     (writes OUTDIR/snapshot, OUTDIR/index, OUTDIR/tree) */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "coffre/backup.h"
#include "coffre/blob.h"
#include "coffre/error.h"
#include "coffre/repo.h"
#include "coffre/snap.h"
#include "coffre/tree.h"
#include "coffre/tree_walk.h"
#include "store/repo_internal.h"

#define TREE_SEP "\x00\xffNODE\xff\x00"
#define TREE_SEP_LEN 8
#define MAX_NODES 256

static const char *out;

static void die(const char *what, const struct cf_error *err)
{
	fprintf(stderr, "gen_corpus: %s: %s\n", what, err ? err->msg : strerror(errno));
	exit(1);
}

static void put(const char *dir, const char *name, const void *p, size_t n)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", out, dir);
	util_mkdirs(path, 0755);
	snprintf(path, sizeof path, "%s/%s/%s", out, dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		die(path, NULL);
}

static void write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, p, n) != (ssize_t)n || close(fd) != 0)
		die(path, NULL);
}

/* A deterministic shop folder: invoices, a large file (its chunk list is a tree of its
 * own), a folder big enough to span several tree nodes, a symlink, a FIFO, odd names. */
static void make_source(const char *src)
{
	char p[4096];
	static const char *const dirs[] = { "", "/factures", "/compta", "/compta/2025",
		"/clients", "/vide", "/a", "/a/b", "/a/b/c" };
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
		snprintf(p, sizeof p, "%s%s", src, dirs[i]);
		if (mkdir(p, 0755) != 0 && errno != EEXIST)
			die(p, NULL);
	}
	for (int i = 0; i < 12; i++) {
		char text[200];
		int n = snprintf(text, sizeof text, "FACTURE %04d\nclient: %d\ntotal: %d,%02d EUR\n",
			i, i * 7 % 13, i * 37, i % 100);
		snprintf(p, sizeof p, "%s/factures/facture-%04d.txt", src, i);
		write_file(p, text, (size_t)n);
	}
	/* 200 customers: several leaves and an inner node in the directory's tree. */
	for (int i = 0; i < 200; i++) {
		char text[64];
		int n = snprintf(text, sizeof text, "client %d\n", i);
		snprintf(p, sizeof p, "%s/clients/client-%03d.vcf", src, i);
		write_file(p, text, (size_t)n);
	}
	/* 640 KiB of noise: about 80 chunks, past the inline limit, a list of several nodes. */
	size_t big = 640u << 10;
	uint8_t *b = malloc(big);
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < big; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = (uint8_t)x;
	}
	snprintf(p, sizeof p, "%s/compta/2025/grand-livre.db", src);
	write_file(p, b, big);
	/* 48 KiB: a few chunks, inline in its entry. */
	snprintf(p, sizeof p, "%s/compta/balance.xls", src);
	write_file(p, b + 1000, 48u << 10);
	free(b);
	snprintf(p, sizeof p, "%s/compta/vide.txt", src);
	write_file(p, "", 0);
	snprintf(p, sizeof p, "%s/a/b/c/profond.txt", src);
	write_file(p, "au fond\n", 8);
	snprintf(p, sizeof p, "%s/Relevé de caisse (juin).txt", src);
	write_file(p, "caisse\n", 7);
	snprintf(p, sizeof p, "%s/dernier", src);
	unlink(p);
	if (symlink("factures/facture-0011.txt", p) != 0)
		die(p, NULL);
	snprintf(p, sizeof p, "%s/tube", src);
	unlink(p);
	if (mkfifo(p, 0600) != 0)
		die(p, NULL);
}

static void backup(struct repo *r, const char *src, const char *tag)
{
	const char *paths[] = { src }, *tags[] = { tag };
	struct backup_opts o = { .paths = paths, .npaths = 1, .tags = tags, .ntags = 1,
		.hostname = "boutique" };
	struct backup_stats st;
	uint8_t snap[32], parent[32];
	int hp;
	struct cf_error err = { 0 };
	if (backup_run(r, &o, &st, snap, parent, &hp, &err) != 0)
		die("backup", &err);
}

/* The tree blobs a walk loads, in the order of their first load (the root first). */
struct rec {
	struct blob_reader *br;
	uint8_t ids[MAX_NODES][32];
	struct buf blobs[MAX_NODES];
	size_t n;
};

static int rec_load(void *ctx, const uint8_t id[32], struct buf *ret, struct cf_error *err)
{
	struct rec *R = ctx;
	int rc = blob_reader_load(R->br, id, ret, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < R->n; i++)
		if (memcmp(R->ids[i], id, 32) == 0)
			return 0;
	if (R->n == MAX_NODES)
		return cf_error_set(err, CF_EUSAGE, "more than %d tree blobs", MAX_NODES);
	memcpy(R->ids[R->n], id, 32);
	memset(&R->blobs[R->n], 0, sizeof R->blobs[R->n]);
	buf_append(&R->blobs[R->n], ret->p, ret->len);
	R->n++;
	return 0;
}

/* Writes the recorded blobs as one input of fuzz_tree: each id is renamed {i, 0, ...}. */
static void rec_write(struct rec *R, uint8_t flag, const char *name)
{
	struct buf o = { 0 };
	buf_put_u8(&o, flag);
	for (size_t i = 0; i < R->n; i++) {
		struct buf *b = &R->blobs[i];
		for (size_t j = 0; j < R->n; j++) {
			uint8_t small[32] = { (uint8_t)j };
			for (size_t k = 0; k + 32 <= b->len; k++)
				if (memcmp(b->p + k, R->ids[j], 32) == 0)
					memcpy(b->p + k, small, 32);
		}
		if (i)
			buf_append(&o, TREE_SEP, TREE_SEP_LEN);
		buf_append(&o, b->p, b->len);
	}
	put("tree", name, o.p, o.len);
	buf_free(&o);
	for (size_t i = 0; i < R->n; i++)
		buf_free(&R->blobs[i]);
	R->n = 0;
}

struct walk {
	struct rec *R;
	struct rec lists;
	int nlists;
};

static int on_entry(void *ctx, const char *path, const struct tree_entry *e)
{
	struct walk *W = ctx;
	if (e->type != TREE_FILE || e->content != TREE_CONTENT_LIST)
		return 0;
	/* Alone, as a chunk-list input. */
	struct cf_error err = { 0 };
	W->lists.br = W->R->br;
	struct tree_iter *it = NULL;
	if (tree_iter_new(0, e->id, rec_load, &W->lists, &it, &err))
		die(path, &err);
	uint8_t id[32];
	uint32_t len;
	while (tree_iter_next_ref(it, id, &len, &err) == 1)
		;
	tree_iter_free(it);
	char name[64];
	snprintf(name, sizeof name, "list-%d", W->nlists++);
	rec_write(&W->lists, 1, name);
	return 0;
}

static int no_ref(void *ctx, const uint8_t id[32], uint32_t len)
{
	return 0;
}

static int walk_entry(void *ctx, const char *path, const struct tree_entry *e)
{
	struct walk *W = ctx;
	if (e->type == TREE_FILE && e->content == TREE_CONTENT_LIST) {
		struct cf_error err = { 0 };
		if (tree_walk_refs(rec_load, W->R, e, no_ref, NULL, &err))
			die(path, &err);
	}
	return 0;
}

static void hex_name(char ret[17], const uint8_t id[32])
{
	char h[65];
	util_hex(h, id, 32);
	memcpy(ret, h, 16);
	ret[16] = 0;
}

static void objects(struct repo *r, int kind, const char *dir)
{
	uint8_t (*ids)[32] = NULL;
	size_t n = 0;
	struct cf_error err = { 0 };
	if (repo_list(r, kind, &ids, &n, &err))
		die("list", &err);
	for (size_t i = 0; i < n; i++) {
		struct buf b = { 0 };
		if (repo_get_object(r, kind, ids[i], &b, &err))
			die("object", &err);
		char name[32];
		hex_name(name, ids[i]);
		put(dir, name, b.p, b.len);
		buf_free(&b);
	}
	free(ids);
}

static void trees(struct repo *r)
{
	struct cf_error err = { 0 };
	struct blobidx *x = NULL;
	struct blob_reader *br = NULL;
	struct snap **list = NULL;
	size_t n = 0;
	if (blobidx_open(r, &x, &err) || blob_reader_new(r, x, &br, &err) ||
	    snap_list(r, &list, &n, NULL, &err))
		die("open", &err);
	static struct rec R;
	static struct walk W = { .R = &R };
	R.br = br;
	for (size_t i = 0; i < n; i++) {
		struct tree_walk_ops ops = { .entry = walk_entry, .ctx = &W };
		if (tree_walk(rec_load, &R, list[i]->tree, &ops, &err))
			die("walk", &err);
		char name[64];
		snprintf(name, sizeof name, "snapshot-%zu", i);
		rec_write(&R, 0, name);
		if (i == 0) {
			ops.entry = on_entry;
			tree_walk(rec_load, &R, list[i]->tree, &ops, &err);
			for (size_t j = 0; j < R.n; j++)
				buf_free(&R.blobs[j]);
			R.n = 0;
		}
	}
	snap_list_free(list, n);
	blob_reader_free(br);
	blobidx_free(x);
}

/* Hand-made edge cases of the binary formats. */
static void edge_cases(void)
{
	/* Index, format 2: no pack; one pack, one frame of two blobs. */
	struct buf b = { 0 };
	buf_put_u8(&b, 2);
	buf_put_u32(&b, 0);
	put("index", "edge-empty", b.p, b.len);
	b.len = 0;
	buf_put_u8(&b, 2);
	buf_put_u32(&b, 1);
	uint8_t id[32];
	memset(id, 0xab, 32);
	buf_append(&b, id, 32);
	buf_put_u32(&b, 1);			/* frames */
	buf_put_u8(&b, 1);			/* tree blobs */
	buf_put_u8(&b, 0);			/* stored as is */
	buf_put_varint(&b, 0);			/* offset */
	buf_put_varint(&b, 40 + 300);		/* stored */
	buf_put_varint(&b, 2);			/* blobs */
	memset(id, 0x11, 32);
	buf_append(&b, id, 32);
	buf_put_varint(&b, 100);
	memset(id, 0x22, 32);
	buf_append(&b, id, 32);
	buf_put_varint(&b, 200);
	put("index", "edge-frame2", b.p, b.len);
	/* Index, format 1: one pack, two blobs of one frame each. */
	b.len = 0;
	buf_put_u8(&b, 1);
	buf_put_u32(&b, 1);
	memset(id, 0xcd, 32);
	buf_append(&b, id, 32);
	buf_put_u32(&b, 2);
	for (uint32_t i = 0; i < 2; i++) {
		buf_put_u8(&b, 0);
		buf_put_u8(&b, (uint8_t)i);
		memset(id, 0x30 + (int)i, 32);
		buf_append(&b, id, 32);
		buf_put_u32(&b, i * 1000);
		buf_put_u32(&b, 900);
		buf_put_u32(&b, 860);
	}
	put("index", "edge-v1", b.p, b.len);
	/* Trees: an empty directory; a chunk list of one ref; a symlink and a FIFO. */
	b.len = 0;
	uint8_t hdr[6] = { 1, 0, 0, 0, 0, 0 };
	buf_put_u8(&b, 0);
	buf_append(&b, hdr, 6);
	put("tree", "edge-empty-dir", b.p, b.len);
	b.len = 0;
	buf_put_u8(&b, 1);
	uint8_t lhdr[6] = { 2, 0, 1, 0, 0, 0 };
	buf_append(&b, lhdr, 6);
	memset(id, 0x44, 32);
	buf_append(&b, id, 32);
	buf_put_u32(&b, 4096);
	put("tree", "edge-list-one", b.p, b.len);
	b.len = 0;
	buf_put_u8(&b, 0);
	uint8_t dhdr[6] = { 1, 0, 2, 0, 0, 0 };
	buf_append(&b, dhdr, 6);
	struct tree_entry e = { .name = "lien", .namelen = 4, .type = TREE_SYMLINK,
		.mode = 0777, .nlink = 1, .target = "../../etc/passwd", .targetlen = 16 };
	tree_entry_encode(&e, &b);
	struct tree_entry f = { .name = "tube", .namelen = 4, .type = TREE_FIFO, .mode = 0600,
		.nlink = 1, .nxattrs = 1, .xattrs = (const uint8_t *)"\x06\0user.a\x01\0\0\0x",
		.xattrslen = 13 };
	tree_entry_encode(&f, &b);
	put("tree", "edge-symlink-fifo", b.p, b.len);
	buf_free(&b);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus OUTDIR\n");
		return 2;
	}
	out = argv[1];
	char tmp[] = "/tmp/coffre-gen.XXXXXX";
	if (!mkdtemp(tmp))
		die("mkdtemp", NULL);
	char src[600], repo[600], cache[600];
	snprintf(src, sizeof src, "%s/boutique", tmp);
	snprintf(repo, sizeof repo, "%s/repo", tmp);
	snprintf(cache, sizeof cache, "%s/cache", tmp);
	setenv("XDG_CACHE_HOME", cache, 1);
	make_source(src);
	struct cf_error err = { 0 };
	char rk[REPO_RECOVERY_TEXT], idhex[65];
	struct repo *r = NULL;
	struct repo_cred cred = { .password = "fuzz" };
	if (repo_init(repo, "fuzz", NULL, rk, idhex, &err) || repo_open(repo, &cred, &r, &err))
		die("repository", &err);
	backup(r, src, "premier");
	char p[700];
	snprintf(p, sizeof p, "%s/factures/facture-0003.txt", src);
	write_file(p, "FACTURE 0003\nannulée\n", 22);
	snprintf(p, sizeof p, "%s/factures/facture-0012.txt", src);
	write_file(p, "FACTURE 0012\n", 13);
	backup(r, src, "second");
	objects(r, REPO_SNAPSHOT, "snapshot");
	objects(r, REPO_INDEX, "index");
	trees(r);
	repo_free(r);
	edge_cases();
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
