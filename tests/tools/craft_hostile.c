/* craft_hostile.c: writes snapshots whose trees a hostile writer of the repository could
 * forge, to check that restore, ls, dump and check refuse them, contain them, and end.
 *
 *   craft_hostile REPO PASSWORD_FILE CASE [OUTSIDE]
 *
 * Opens REPO with the real key and stores one snapshot (paths {"/x"}) for CASE, printing its
 * id; CASE "all" writes every case and prints "case id" lines. OUTSIDE (default
 * /tmp/coffre-hostile-outside) is an absolute directory the hostile entries aim at.
 *
 * Tree nodes are encoded by hand (u8 kind, u8 level, u32 count LE, then records, as
 * agent/store/tree.c reads them) so that none of the builder's checks stand in the way; entry
 * records come from tree_entry_encode(), which encodes whatever it is given. Every case
 * lives under /x, mostly in directories /x/dN that each hold one hostile thing between a
 * "-before.txt" (sorts before any hostile name: '-' < '.' < '/') and an "ok.txt" (after
 * it), so that a test can see which legitimate siblings survive.
 *
 * What the format lets a forger express:
 *  - names: any bytes, length 0..65535 (u16). The reader refuses '/', NUL, "", ".", "..",
 *    and names over 255 bytes.
 *  - symlink targets: any bytes but NUL, 1..4095 (absolute or with "..").
 *  - a path is the chain of names from the root, so an entry can only sit "below" a symlink
 *    if a directory with the symlink's name exists in the same directory: a duplicate name,
 *    which the reader's strict-order check refuses. Across two snapshots restored into the
 *    same target it is expressible ("symlink_over" after "symlink_escape").
 *  - hard links: a file with nlink > 1 is restored as a link to the first restored file with
 *    the same (dev, ino), a path this same tree put inside the target: nothing to aim with.
 *  - cycles: ids are keyed hashes of the node's bytes and blobs are checked against their
 *    id when read, so no node can name itself or an ancestor. The closest thing is a DAG
 *    whose paths multiply ("selfref": 40 levels of l/r pointing at the same node, 2^40
 *    paths) and a chunk list whose inner nodes repeat one child ("listbomb").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "coffre/blob.h"
#include "coffre/error.h"
#include "coffre/pack.h"
#include "coffre/repo.h"
#include "coffre/snap.h"
#include "coffre/tree.h"
#include "store/repo_internal.h"

#define NODE_DIR 1
#define NODE_LIST 2

static struct repo *R;
static struct blobidx *X;
static struct pack_writer *PW;
static struct cf_error ERR;
static const char *OUTSIDE = "/tmp/coffre-hostile-outside";
static uint64_t next_ino = 1000;

static void die(const char *what)
{
	fprintf(stderr, "craft_hostile: %s: %s\n", what, ERR.msg[0] ? ERR.msg : "failed");
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fprintf(stderr, "craft_hostile: out of memory\n");
		exit(1);
	}
	return p;
}

static void finish_pack(void)
{
	if (!PW)
		return;
	uint8_t id[32];
	struct pack_entry *e = NULL;
	size_t n = 0;
	if (pack_writer_finish(PW, id, &e, &n, &ERR))
		die("pack_writer_finish");
	pack_writer_free(PW);
	PW = NULL;
	if (blobidx_add_pack(X, id, e, n, &ERR))
		die("blobidx_add_pack");
}

/* Stores a blob (once) and returns its id, as backup.c's store_blob does. */
static void put_blob(int type, const void *p, size_t n, uint8_t id[32])
{
	repo_blob_id(R, p, n, id);
	if (blobidx_has(X, id))
		return;
	if (!PW && pack_writer_new(R, &PW, &ERR))
		die("pack_writer_new");
	if (pack_writer_add(PW, type, id, p, n, &ERR) || blobidx_note(X, id))
		die("pack_writer_add");
	if (pack_writer_size(PW) >= R->pack_size)
		finish_pack();
}

/* ---- raw nodes ---- */

struct node {
	struct buf b;
	uint32_t count;
};

static void node_begin(struct node *nd, int kind, int level)
{
	memset(nd, 0, sizeof *nd);
	uint8_t hdr[6] = { (uint8_t)kind, (uint8_t)level, 0, 0, 0, 0 };
	if (buf_append(&nd->b, hdr, sizeof hdr))
		die("out of memory");
}

/* Stores the node with ${count} in its header (the real count unless forged). */
static void node_store_count(struct node *nd, uint32_t count, uint8_t id[32])
{
	le32_put(nd->b.p + 2, count);
	put_blob(BLOB_TREE, nd->b.p, nd->b.len, id);
	buf_free(&nd->b);
}

static void node_store(struct node *nd, uint8_t id[32])
{
	node_store_count(nd, nd->count, id);
}

static void base_entry(struct tree_entry *e, const char *name, size_t namelen, int type)
{
	memset(e, 0, sizeof *e);
	e->name = name;
	e->namelen = namelen;
	e->type = (uint8_t)type;
	e->mode = type == TREE_DIR ? 0755 : 0644;
	e->uid = (uint32_t)getuid();
	e->gid = (uint32_t)getgid();
	e->nlink = 1;
	e->mtime_s = 1700000000;
	e->ctime_s = 1700000000;
	e->ino = next_ino++;
	e->dev = 42;
}

static void add_rec(struct node *nd, const struct tree_entry *e)
{
	if (tree_entry_encode(e, &nd->b))
		die("tree_entry_encode");
	nd->count++;
}

/* A file entry named by ${namelen} bytes, content inline (one ref per chunk given). */
static void add_file_n(struct node *nd, const char *name, size_t namelen, uint64_t size,
	const uint8_t (*ids)[32], const uint32_t *lens, uint32_t nrefs)
{
	struct tree_entry e;
	base_entry(&e, name, namelen, TREE_FILE);
	e.size = size;
	uint8_t *refs = xmalloc((size_t)nrefs * TREE_REF_BYTES);
	for (uint32_t i = 0; i < nrefs; i++) {
		memcpy(refs + (size_t)i * TREE_REF_BYTES, ids[i], 32);
		le32_put(refs + (size_t)i * TREE_REF_BYTES + 32, lens[i]);
	}
	e.content = nrefs ? TREE_CONTENT_INLINE : TREE_CONTENT_NONE;
	e.nrefs = nrefs;
	e.refs = refs;
	add_rec(nd, &e);
	free(refs);
}

/* A file with the given content, its declared size the content's length. */
static void add_text(struct node *nd, const char *name, const char *text)
{
	uint8_t id[32];
	uint32_t len = (uint32_t)strlen(text);
	put_blob(BLOB_DATA, text, len, id);
	add_file_n(nd, name, strlen(name), len, (const uint8_t(*)[32])id, &len, 1);
}

/* A file whose content is the chunk list rooted at ${list}. */
static void add_file_list(struct node *nd, const char *name, uint64_t size, const uint8_t list[32])
{
	struct tree_entry e;
	base_entry(&e, name, strlen(name), TREE_FILE);
	e.size = size;
	e.content = TREE_CONTENT_LIST;
	memcpy(e.id, list, 32);
	add_rec(nd, &e);
}

static void add_dir_n(struct node *nd, const char *name, size_t namelen, const uint8_t sub[32])
{
	struct tree_entry e;
	base_entry(&e, name, namelen, TREE_DIR);
	memcpy(e.id, sub, 32);
	add_rec(nd, &e);
}

static void add_dir(struct node *nd, const char *name, const uint8_t sub[32])
{
	add_dir_n(nd, name, strlen(name), sub);
}

static void add_symlink(struct node *nd, const char *name, const char *target)
{
	struct tree_entry e;
	base_entry(&e, name, strlen(name), TREE_SYMLINK);
	e.mode = 0777;
	e.target = target;
	e.targetlen = strlen(target);
	add_rec(nd, &e);
}

static void add_before(struct node *nd)
{
	add_text(nd, "-before.txt", "before\n");
}

static void add_ok(struct node *nd)
{
	add_text(nd, "ok.txt", "ok\n");
}

/* A directory holding only ${name} (a text file). */
static void dir_with_text(const char *name, const char *text, uint8_t id[32])
{
	struct node nd;
	node_begin(&nd, NODE_DIR, 0);
	add_text(&nd, name, text);
	node_store(&nd, id);
}

static void empty_dir(uint8_t id[32])
{
	struct node nd;
	node_begin(&nd, NODE_DIR, 0);
	node_store(&nd, id);
}

static char *outside(const char *leaf)
{
	char *p = util_path("%s/%s", OUTSIDE, leaf);
	if (!p)
		die("out of memory");
	return p;
}

/* "../" repeated enough to reach / from any restore target, then ${abs} without its '/'. */
static char *climb_to(const char *abs)
{
	char up[3 * 40 + 1] = "";
	for (int i = 0; i < 40; i++)
		strcat(up, "../");
	char *p = util_path("%s%s", up, abs + 1);
	if (!p)
		die("out of memory");
	return p;
}

/* ---- the cases; each returns the id of the tree of /x ---- */

/* /x/d1: ".." (dir) holding "evil" and another "..", three deep, so that whatever depth
 * resolves, an "evil" lands beside or above the target; /x/d2: "../evil2";
 * /x/d3: "../../../evil3" (beside the target). */
static void case_dotdot(uint8_t x[32])
{
	uint8_t d[3][32], up[32], sub[32];
	struct node nd;
	dir_with_text("evil", "evil\n", up);
	for (int i = 0; i < 2; i++) {
		node_begin(&nd, NODE_DIR, 0);
		add_dir(&nd, "..", up);
		add_text(&nd, "evil", "evil\n");
		node_store(&nd, sub);
		memcpy(up, sub, 32);
	}
	node_begin(&nd, NODE_DIR, 0);
	add_before(&nd);
	add_dir(&nd, "..", up);
	add_ok(&nd);
	node_store(&nd, d[0]);
	node_begin(&nd, NODE_DIR, 0);
	add_before(&nd);
	add_text(&nd, "../evil2", "evil2\n");
	add_ok(&nd);
	node_store(&nd, d[1]);
	node_begin(&nd, NODE_DIR, 0);
	add_before(&nd);
	add_text(&nd, "../../../evil3", "evil3\n");
	add_ok(&nd);
	node_store(&nd, d[2]);
	node_begin(&nd, NODE_DIR, 0);
	add_dir(&nd, "d1", d[0]);
	add_dir(&nd, "d2", d[1]);
	add_dir(&nd, "d3", d[2]);
	add_ok(&nd);
	node_store(&nd, x);
}

/* /x/d1: a file named "OUTSIDE/evil-abs"; /x/d2: a file named "/tmp/evil-abs". */
static void case_absolute(uint8_t x[32])
{
	uint8_t d[2][32];
	struct node nd;
	char *abs = outside("evil-abs");
	const char *names[2] = { abs, "/tmp/evil-abs" };
	for (int i = 0; i < 2; i++) {
		node_begin(&nd, NODE_DIR, 0);
		add_before(&nd);
		add_text(&nd, names[i], "evil-abs\n");
		add_ok(&nd);
		node_store(&nd, d[i]);
	}
	free(abs);
	node_begin(&nd, NODE_DIR, 0);
	add_dir(&nd, "d1", d[0]);
	add_dir(&nd, "d2", d[1]);
	add_ok(&nd);
	node_store(&nd, x);
}

/* /x/d1: an empty dir "a", then a file "a/b". */
static void case_slash(uint8_t x[32])
{
	uint8_t d1[32], a[32];
	struct node nd;
	empty_dir(a);
	node_begin(&nd, NODE_DIR, 0);
	add_before(&nd);
	add_dir(&nd, "a", a);
	add_text(&nd, "a/b", "evil-slash\n");
	add_ok(&nd);
	node_store(&nd, d1);
	node_begin(&nd, NODE_DIR, 0);
	add_dir(&nd, "d1", d1);
	add_ok(&nd);
	node_store(&nd, x);
}

/* /x/d1: a file named "evil\0.txt" (9 bytes). */
static void case_nul(uint8_t x[32])
{
	uint8_t d1[32], id[32];
	struct node nd;
	static const char name[] = "evil\0.txt";
	const char *text = "evil-nul\n";
	uint32_t len = (uint32_t)strlen(text);
	put_blob(BLOB_DATA, text, len, id);
	node_begin(&nd, NODE_DIR, 0);
	add_before(&nd);
	add_file_n(&nd, name, sizeof name - 1, len, (const uint8_t(*)[32])id, &len, 1);
	add_ok(&nd);
	node_store(&nd, d1);
	node_begin(&nd, NODE_DIR, 0);
	add_dir(&nd, "d1", d1);
	add_ok(&nd);
	node_store(&nd, x);
}

/* /x/d1: symlinks "link" -> OUTSIDE/sym-abs and "link2" -> ../../(...)OUTSIDE/sym-rel
 *        (legitimate as symlinks: restored, never followed);
 * /x/d2: symlink "a" -> OUTSIDE, then a directory "a" holding "pwned" (duplicate name);
 * /x/d3: directory "a" holding "pwned", then symlink "a" -> OUTSIDE (duplicate, other order);
 * /x/d4: symlink "s" -> "..", directory "t" holding "pwned-t" (legitimate: t is not below s). */
static void case_symlink_escape(uint8_t x[32])
{
	uint8_t d[4][32], pw[32], t[32];
	struct node nd;
	char *abs = outside("sym-abs"), *rel_abs = outside("sym-rel");
	char *rel = climb_to(rel_abs);
	dir_with_text("pwned", "pwned\n", pw);
	node_begin(&nd, NODE_DIR, 0);
	add_before(&nd);
	add_symlink(&nd, "link", abs);
	add_symlink(&nd, "link2", rel);
	add_ok(&nd);
	node_store(&nd, d[0]);
	node_begin(&nd, NODE_DIR, 0);
	add_before(&nd);
	add_symlink(&nd, "a", OUTSIDE);
	add_dir(&nd, "a", pw);
	add_ok(&nd);
	node_store(&nd, d[1]);
	node_begin(&nd, NODE_DIR, 0);
	add_before(&nd);
	add_dir(&nd, "a", pw);
	add_symlink(&nd, "a", OUTSIDE);
	add_ok(&nd);
	node_store(&nd, d[2]);
	dir_with_text("pwned-t", "pwned-t\n", t);
	node_begin(&nd, NODE_DIR, 0);
	add_before(&nd);
	add_ok(&nd);
	add_symlink(&nd, "s", "..");
	add_dir(&nd, "t", t);
	node_store(&nd, d[3]);
	node_begin(&nd, NODE_DIR, 0);
	add_dir(&nd, "d1", d[0]);
	add_dir(&nd, "d2", d[1]);
	add_dir(&nd, "d3", d[2]);
	add_dir(&nd, "d4", d[3]);
	add_ok(&nd);
	node_store(&nd, x);
	free(abs);
	free(rel_abs);
	free(rel);
}

/* A legitimate snapshot meant to be restored into the target of symlink_escape: directories
 * where that one has symlinks (/x/d1/link, /x/d1/link2, /x/d2/a), each holding "pwned". */
static void case_symlink_over(uint8_t x[32])
{
	uint8_t d[2][32], pw[32];
	struct node nd;
	dir_with_text("pwned", "pwned\n", pw);
	node_begin(&nd, NODE_DIR, 0);
	add_before(&nd);
	add_dir(&nd, "link", pw);
	add_dir(&nd, "link2", pw);
	add_ok(&nd);
	node_store(&nd, d[0]);
	node_begin(&nd, NODE_DIR, 0);
	add_before(&nd);
	add_dir(&nd, "a", pw);
	add_ok(&nd);
	node_store(&nd, d[1]);
	node_begin(&nd, NODE_DIR, 0);
	add_dir(&nd, "d1", d[0]);
	add_dir(&nd, "d2", d[1]);
	add_ok(&nd);
	node_store(&nd, x);
}

/* /x/d1: a 255-byte name "LLL..." (legitimate), then a 300-byte name "MMM...". */
static void case_longname(uint8_t x[32])
{
	uint8_t d1[32];
	char l[256], m[301];
	memset(l, 'L', 255);
	l[255] = 0;
	memset(m, 'M', 300);
	m[300] = 0;
	struct node nd;
	node_begin(&nd, NODE_DIR, 0);
	add_before(&nd);
	add_text(&nd, l, "long\n");
	add_text(&nd, m, "too-long\n");
	add_ok(&nd);
	node_store(&nd, d1);
	node_begin(&nd, NODE_DIR, 0);
	add_dir(&nd, "d1", d1);
	add_ok(&nd);
	node_store(&nd, x);
}

/* /x/d1: "huge" (declared 2^62, one 10-byte chunk), "none" (declared 2^62, no content),
 * "ok.txt", "small" (declared 10, one 1 MiB chunk). */
static void case_hugesize(uint8_t x[32])
{
	uint8_t d1[32], ten[32], mib[32];
	const uint32_t tenlen = 10, miblen = 1u << 20;
	put_blob(BLOB_DATA, "0123456789", tenlen, ten);
	uint8_t *big = xmalloc(miblen);
	for (uint32_t i = 0; i < miblen; i++)
		big[i] = (uint8_t)(i * 2654435761u >> 24);
	put_blob(BLOB_DATA, big, miblen, mib);
	free(big);
	struct node nd;
	node_begin(&nd, NODE_DIR, 0);
	add_before(&nd);
	add_file_n(&nd, "huge", 4, 1ull << 62, (const uint8_t(*)[32])ten, &tenlen, 1);
	add_file_n(&nd, "none", 4, 1ull << 62, NULL, NULL, 0);
	add_ok(&nd);
	add_file_n(&nd, "small", 5, 10, (const uint8_t(*)[32])mib, &miblen, 1);
	node_store(&nd, d1);
	node_begin(&nd, NODE_DIR, 0);
	add_dir(&nd, "d1", d1);
	add_ok(&nd);
	node_store(&nd, x);
}

/* /x/d/d/.../d (10,000 levels) with "bottom.txt" at the bottom, then /x/ok.txt. */
static void case_deep(uint8_t x[32])
{
	uint8_t id[32];
	struct node nd;
	dir_with_text("bottom.txt", "bottom\n", id);
	for (int i = 0; i < 10000; i++) {
		node_begin(&nd, NODE_DIR, 0);
		add_dir(&nd, "d", id);
		node_store(&nd, id);
	}
	node_begin(&nd, NODE_DIR, 0);
	add_before(&nd);
	add_dir(&nd, "d", id);
	add_ok(&nd);
	node_store(&nd, x);
}

/* True cycles cannot be forged (see the top comment): /x/dag is 40 levels of directories
 * each holding "l" and "r" that name the same next node (2^40 paths, 2^41 - 1 directories
 * reachable), the bottom one empty. */
static void case_selfref(uint8_t x[32])
{
	uint8_t id[32];
	struct node nd;
	empty_dir(id);
	for (int i = 0; i < 40; i++) {
		node_begin(&nd, NODE_DIR, 0);
		add_dir(&nd, "l", id);
		add_dir(&nd, "r", id);
		node_store(&nd, id);
	}
	node_begin(&nd, NODE_DIR, 0);
	add_before(&nd);
	add_dir(&nd, "dag", id);
	add_ok(&nd);
	node_store(&nd, x);
}

/* /x/d1: a directory node whose count says 1,000,000,000 but holds 2 entries;
 * /x/d2: a level-1 directory node whose count says 1,000,000,000 but holds 2 children;
 * /x/d3: a node whose count says 2 but holds 3 ("-before.txt", "ok.txt", "zzz.txt");
 * /x/d4: "f", a file whose chunk list node says 1,000,000,000 refs but holds 1;
 * /x/d5: "f", a file whose level-1 chunk list node says 1,000,000,000 children, holds 1. */
static void case_count(uint8_t x[32])
{
	uint8_t d[5][32], a[32], b[32], l0[32], l1[32], ten[32];
	struct node nd;
	node_begin(&nd, NODE_DIR, 0);
	add_before(&nd);
	add_ok(&nd);
	node_store_count(&nd, 1000000000u, d[0]);

	node_begin(&nd, NODE_DIR, 0);
	add_before(&nd);
	node_store(&nd, a);
	node_begin(&nd, NODE_DIR, 0);
	add_ok(&nd);
	node_store(&nd, b);
	node_begin(&nd, NODE_DIR, 1);
	uint8_t rec[40] = { 0 };
	memcpy(rec, a, 32);
	rec[32] = 1;
	buf_append(&nd.b, rec, 40);
	memcpy(rec, b, 32);
	buf_append(&nd.b, rec, 40);
	node_store_count(&nd, 1000000000u, d[1]);

	node_begin(&nd, NODE_DIR, 0);
	add_before(&nd);
	add_ok(&nd);
	add_text(&nd, "zzz.txt", "beyond the count\n");
	node_store_count(&nd, 2, d[2]);

	put_blob(BLOB_DATA, "0123456789", 10, ten);
	node_begin(&nd, NODE_LIST, 0);
	uint8_t ref[TREE_REF_BYTES];
	memcpy(ref, ten, 32);
	le32_put(ref + 32, 10);
	buf_append(&nd.b, ref, sizeof ref);
	node_store_count(&nd, 1000000000u, l0);
	node_begin(&nd, NODE_DIR, 0);
	add_before(&nd);
	add_file_list(&nd, "f", 10, l0);
	add_ok(&nd);
	node_store(&nd, d[3]);

	node_begin(&nd, NODE_LIST, 0);
	buf_append(&nd.b, ref, sizeof ref);
	node_store_count(&nd, 1, l0);
	node_begin(&nd, NODE_LIST, 1);
	memcpy(rec, l0, 32);
	memset(rec + 32, 0, 8);
	rec[32] = 10;
	buf_append(&nd.b, rec, 40);
	node_store_count(&nd, 1000000000u, l1);
	node_begin(&nd, NODE_DIR, 0);
	add_before(&nd);
	add_file_list(&nd, "f", 10, l1);
	add_ok(&nd);
	node_store(&nd, d[4]);

	node_begin(&nd, NODE_DIR, 0);
	add_dir(&nd, "d1", d[0]);
	add_dir(&nd, "d2", d[1]);
	add_dir(&nd, "d3", d[2]);
	add_dir(&nd, "d4", d[3]);
	add_dir(&nd, "d5", d[4]);
	add_ok(&nd);
	node_store(&nd, x);
}

/* /x/d1/bomb: declared size 10, its chunk list a level-2 node of K children that all name
 * one level-1 node of K children that all name one level-0 node of K refs to one 10-byte
 * chunk: K^3 refs (K = 50,000: 1.25e14) stored in three small blobs. */
static void case_listbomb(uint8_t x[32])
{
	enum { K = 50000 };
	uint8_t ten[32], l0[32], l1[32], l2[32], d1[32];
	put_blob(BLOB_DATA, "0123456789", 10, ten);
	struct node nd;
	uint8_t ref[TREE_REF_BYTES];
	memcpy(ref, ten, 32);
	le32_put(ref + 32, 10);
	node_begin(&nd, NODE_LIST, 0);
	for (int i = 0; i < K; i++)
		if (buf_append(&nd.b, ref, sizeof ref))
			die("out of memory");
	node_store_count(&nd, K, l0);
	uint8_t rec[40];
	uint64_t w = (uint64_t)K * 10;
	const uint8_t *child = l0;
	uint8_t *out[2] = { l1, l2 };
	for (int lv = 1; lv <= 2; lv++) {
		memcpy(rec, child, 32);
		for (int i = 0; i < 8; i++)
			rec[32 + i] = (uint8_t)(w >> (8 * i));
		node_begin(&nd, NODE_LIST, lv);
		for (int i = 0; i < K; i++)
			if (buf_append(&nd.b, rec, sizeof rec))
				die("out of memory");
		node_store_count(&nd, K, out[lv - 1]);
		child = out[lv - 1];
		w *= K;
	}
	node_begin(&nd, NODE_DIR, 0);
	add_before(&nd);
	add_file_list(&nd, "bomb", 10, l2);
	add_ok(&nd);
	node_store(&nd, d1);
	node_begin(&nd, NODE_DIR, 0);
	add_dir(&nd, "d1", d1);
	add_ok(&nd);
	node_store(&nd, x);
}

/* ---- snapshots ---- */

static const struct {
	const char *name;
	void (*fn)(uint8_t x[32]);
} cases[] = {
	{ "dotdot", case_dotdot },
	{ "absolute", case_absolute },
	{ "slash", case_slash },
	{ "nul", case_nul },
	{ "symlink_escape", case_symlink_escape },
	{ "symlink_over", case_symlink_over },
	{ "longname", case_longname },
	{ "hugesize", case_hugesize },
	{ "deep", case_deep },
	{ "selfref", case_selfref },
	{ "count", case_count },
	{ "listbomb", case_listbomb },
};
#define NCASES (sizeof cases / sizeof cases[0])

/* Root tree {"x" -> the case's tree}, committed, then the snapshot. */
static void write_case(size_t i, char ret_hex[65])
{
	uint8_t x[32], root[32];
	cases[i].fn(x);
	struct node nd;
	node_begin(&nd, NODE_DIR, 0);
	add_dir(&nd, "x", x);
	node_store(&nd, root);
	finish_pack();
	if (blobidx_commit(X, &ERR))
		die("blobidx_commit");
	struct snap s = { 0 };
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	s.time = now.tv_sec;
	s.time_ns = (uint32_t)now.tv_nsec;
	s.hostname = (char *)"hostile";
	s.username = (char *)"hostile";
	char *paths[1] = { (char *)"/x" };
	char tag[64];
	snprintf(tag, sizeof tag, "hostile-%s", cases[i].name);
	char *tags[1] = { tag };
	s.paths = paths;
	s.npaths = 1;
	s.tags = tags;
	s.ntags = 1;
	memcpy(s.tree, root, 32);
	if (snap_write(R, &s, &ERR))
		die("snap_write");
	memcpy(ret_hex, s.idhex, 65);
}

static char *read_password(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		perror(path);
		exit(1);
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	fclose(f);
	if (n < 0) {
		free(line);
		return strdup("");
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = 0;
	return line;
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: craft_hostile REPO PASSWORD_FILE CASE [OUTSIDE]\ncases: all");
		for (size_t i = 0; i < NCASES; i++)
			fprintf(stderr, " %s", cases[i].name);
		fprintf(stderr, "\n");
		return 2;
	}
	if (argc == 5) {
		if (argv[4][0] != '/' || strlen(argv[4]) > 100) {
			fprintf(stderr, "craft_hostile: OUTSIDE must be an absolute path (<= 100 bytes)\n");
			return 2;
		}
		OUTSIDE = argv[4];
	}
	const char *which = argv[3];
	int all = strcmp(which, "all") == 0;
	size_t pick = NCASES;
	for (size_t i = 0; i < NCASES; i++)
		if (strcmp(which, cases[i].name) == 0)
			pick = i;
	if (!all && pick == NCASES) {
		fprintf(stderr, "craft_hostile: unknown case '%s'\n", which);
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	char *pw = read_password(argv[2]);
	struct repo_cred cred = { .password = pw };
	if (repo_open(argv[1], &cred, &R, &ERR))
		die("repo_open");
	free(pw);
	if (repo_lock(R, 0, &ERR))
		die("repo_lock");
	if (blobidx_open(R, &X, &ERR))
		die("blobidx_open");
	for (size_t i = 0; i < NCASES; i++) {
		if (!all && i != pick)
			continue;
		char hex[65];
		write_case(i, hex);
		if (all)
			printf("%s %s\n", cases[i].name, hex);
		else
			printf("%s\n", hex);
	}
	blobidx_free(X);
	repo_unlock(R);
	repo_free(R);
	return fflush(stdout) == 0 ? 0 : 1;
}
