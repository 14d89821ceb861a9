/* gen_corpus.c: seed corpora for the fuzz targets, made by the real engine. It backs up a
 * small shop folder twice into a fresh repository, opens the objects (snapshots, indexes)
 * and the tree blobs the way a restore reads them, and writes their plaintext in the shapes
 * the targets take; the repository's own files (config, key files, a lock, the key cache),
 * the plaintext of its pack headers, a daemon status, and the messages a run's process sends
 * the daemon about the second backup; then the same folder backed up by a handle on the fuzz
 * targets' key (FUZZ_MASTER_KEY), whose packs are written whole; then a few hand-made edge
 * cases.
 *
 *   gen_corpus OUTDIR     (writes OUTDIR/snapshot, index, tree, repoconfig, keyfile, lock,
 *                          keycache, pack, status, runmsg, packfile) */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "coffre/backup.h"
#include "coffre/blob.h"
#include "coffre/dst.h"
#include "coffre/error.h"
#include "coffre/repo.h"
#include "coffre/runmsg.h"
#include "coffre/snap.h"
#include "coffre/state.h"
#include "coffre/tree.h"
#include "coffre/tree_walk.h"
#include "store/pack_internal.h"
#include "store/repo_internal.h"
#include "fuzz.h"

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

static void backup(struct repo *r, const char *src, const char *tag, struct backup_stats *st,
	uint8_t snap[32])
{
	const char *paths[] = { src }, *tags[] = { tag };
	struct backup_opts o = { .paths = paths, .npaths = 1, .tags = tags, .ntags = 1,
		.hostname = "boutique" };
	uint8_t parent[32];
	int hp;
	struct cf_error err = { 0 };
	if (backup_run(r, &o, st, snap, parent, &hp, &err) != 0)
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

static void copy_file(const char *path, const char *dir, const char *name)
{
	struct buf b = { 0 };
	if (util_read_file(path, 1u << 20, &b, NULL) != 0)
		die(path, NULL);
	put(dir, name, b.p, b.len);
	buf_free(&b);
}

/* Every file of ${sub} (a folder of the repository) into ${dir}, at most ${max}. */
static void copy_dir(const char *repo, const char *sub, const char *dir, const char *prefix,
	int max)
{
	char p[1200];
	snprintf(p, sizeof p, "%s/%s", repo, sub);
	DIR *d = opendir(p);
	if (!d)
		die(p, NULL);
	struct dirent *de;
	int i = 0;
	while ((de = readdir(d)) && i < max) {
		if (de->d_name[0] == '.')
			continue;
		char name[64];
		snprintf(p, sizeof p, "%s/%s/%s", repo, sub, de->d_name);
		snprintf(name, sizeof name, "%s%d", prefix, i++);
		copy_file(p, dir, name);
	}
	closedir(d);
}

/* The repository's own files, as they lie on its destination: config, key files (password,
 * recovery, escrow), a shared and an exclusive lock, the local key cache. */
static void repo_files(struct repo *r, const char *repo, const char *cache)
{
	char p[1200];
	struct cf_error err = { 0 };
	snprintf(p, sizeof p, "%s/config", repo);
	copy_file(p, "repoconfig", "config");
	uint8_t pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
	char pkhex[2 * sizeof pk + 1];
	crypto_box_keypair(pk, sk);
	util_hex(pkhex, pk, sizeof pk);
	if (repo_key_add_escrow(r, pkhex, &err))
		die("escrow key", &err);
	copy_dir(repo, "keys", "keyfile", "key-", 8);
	for (int x = 0; x < 2; x++) {
		if (repo_lock(r, x, &err))
			die("lock", &err);
		copy_dir(repo, "locks", "lock", x ? "exclusive-" : "shared-", 1);
		repo_unlock(r);
	}
	snprintf(p, sizeof p, "%s/coffre/%s/key", cache, repo_id_hex(r));
	copy_file(p, "keycache", "key");
}

/* Calls ${fn} on each of the first ${max} packs of the repository folder ${repo}, with its
 * bytes. */
static void each_pack(const char *repo, int max, void (*fn)(int i, const struct buf *b))
{
	char p[1200];
	snprintf(p, sizeof p, "%s/data", repo);
	DIR *top = opendir(p);
	if (!top)
		die(p, NULL);
	struct dirent *sub;
	int got = 0;
	while ((sub = readdir(top)) && got < max) {
		if (sub->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/data/%s", repo, sub->d_name);
		DIR *d = opendir(p);
		struct dirent *de;
		while (d && (de = readdir(d)) && got < max) {
			if (de->d_name[0] == '.')
				continue;
			char f[1500];
			snprintf(f, sizeof f, "%s/%s", p, de->d_name);
			struct buf b = { 0 };
			if (util_read_file(f, 64u << 20, &b, NULL) != 0 || b.len < 8 + SEAL_OVERHEAD)
				die(f, NULL);
			fn(got++, &b);
			buf_free(&b);
		}
		if (d)
			closedir(d);
	}
	closedir(top);
	if (!got)
		die("no pack", NULL);
}

static struct repo *header_repo;

/* The plaintext of a pack's header, after le32 of where it starts. */
static void pack_header(int i, const struct buf *b)
{
	struct buf o = { 0 };
	uint32_t hlen = le32_get(b->p + b->len - 8);
	uint32_t hoff = (uint32_t)(b->len - 8 - hlen);
	buf_put_u32(&o, hoff);
	size_t at = o.len;
	if (buf_reserve(&o, hlen) ||
	    repo_unseal(header_repo, PACK_HEADER_MAGIC, 4, b->p + hoff, hlen, o.p + at) != 0)
		die("pack header", NULL);
	o.len = at + hlen - SEAL_OVERHEAD;
	char name[32];
	snprintf(name, sizeof name, "header-%d", i);
	put("pack", name, o.p, o.len);
	buf_free(&o);
}

/* The plaintext of the headers of a few packs, each after le32 of where it starts. */
static void pack_headers(struct repo *r, const char *repo)
{
	header_repo = r;
	each_pack(repo, 4, pack_header);
}

static void whole_pack(int i, const struct buf *b)
{
	char name[32];
	snprintf(name, sizeof name, "pack-%d", i);
	put("packfile", name, b->p, b->len);
	if (i == 0)
		put("packfile", "edge-truncated", b->p, b->len - 1);
}

/* Whole packs sealed with FUZZ_MASTER_KEY: a small folder made at ${src} backed up by a
 * handle on that key into a repository folder of its own (${dir}), by the engine as any
 * backup; each pack is a seed as it lies on disk, and the first one, cut short of its last
 * byte, is an edge case. */
static void keyed_packs(const char *src, const char *dir)
{
	static const char *const dirs[] = { "keys", "data", "index", "snapshots", "locks" };
	struct cf_error err = { 0 };
	char p[1200];
	/* Small packs, quick to fuzz: text that compresses (frames of several blobs, in zstd),
	 * and 6 KiB of noise that does not (a frame stored as it is). */
	if (mkdir(src, 0755) != 0)
		die(src, NULL);
	for (int i = 0; i < 20; i++) {
		char text[100];
		int n = snprintf(text, sizeof text, "client %d\nville: %d\n", i, i * 31 % 17);
		snprintf(p, sizeof p, "%s/client-%02d.vcf", src, i);
		write_file(p, text, (size_t)n);
	}
	uint8_t noise[6144];
	randombytes_buf(noise, sizeof noise);
	snprintf(p, sizeof p, "%s/scan.jpg", src);
	write_file(p, noise, sizeof noise);
	struct dst *d = NULL;
	struct repo *r = NULL;
	if (dst_open(dir, NULL, &d, &err) || dst_prepare(d, dirs, 5, &err) ||
	    repo_new_keyed(d, FUZZ_MASTER_KEY, &r, &err))
		die("keyed repository", &err);
	struct backup_stats st;
	uint8_t snap[32];
	backup(r, src, "clef", &st, snap);
	repo_free(r);
	dst_free(d);
	each_pack(dir, 4, whole_pack);
}

/* A daemon's status as coffred writes it: idle after a partial run with two destinations,
 * and running. */
static void statuses(void)
{
	static char *paths[] = { "/srv/partage", "/home/compta" };
	struct state_watched w[2] = { { paths[0], "watched" }, { paths[1], "missing" } };
	struct state_dest d[2] = {
		{ .name = "nas", .url = "sftp://nas.local/backup", .result = "complete",
			.last_attempt = 1767225600, .last_complete = 1767225600, .sent = 12,
			.sent_bytes = 123456789 },
		{ .name = "cloud", .url = "s3://s3.example.com/coffre", .result = "unreachable",
			.last_attempt = 1767225600, .pending_since = 1767139200, .pending = 3,
			.pending_bytes = 4096, .object_lock = 1, .lock_note = "COMPLIANCE, 30 days",
			.error = "cannot connect to s3.example.com" },
	};
	struct state_status s = { .state = "idle", .pid = 4242, .runs = 7,
		.config = "/etc/coffre/coffre.conf", .repository = "/var/lib/coffre/repo",
		.schedule = "hourly", .has_last = 1, .last_success = 1767225600,
		.next_backup = 1767229200, .dirty_folders = 2, .last_change = 1767225000,
		.watched = w, .nwatched = 2, .watches = 1234, .last_full_scan = 1767139200,
		.dests = d, .ndests = 2, .last_retention = 1767139200 };
	struct state_run *l = &s.last;
	*l = (struct state_run){ .run = 7, .start = 1767225600, .duration = 12.5,
		.result = "partial", .files = 1000, .files_new = 3, .files_changed = 2,
		.bytes_read = 1u << 20, .bytes_added = 4096, .entries = 1100, .dirs_reused = 40,
		.warnings = 2, .missing = "/home/compta", .nwarn = 2, .retention = 1,
		.spool_cleared = 8192 };
	memset(l->snapshot, 'a', 64);
	snprintf(l->warn[0], sizeof l->warn[0], "/srv/partage/verrou.lck: permission denied");
	snprintf(l->warn[1], sizeof l->warn[1], "/srv/partage/fée \"x\": changed");
	struct cf_error err = { 0 };
	char *text = NULL;
	if (state_status_format(&s, &text, &err))
		die("status", &err);
	put("status", "idle", text, strlen(text));
	free(text);
	s.running = 1;
	snprintf(s.state, sizeof s.state, "running");
	s.progress = (struct state_progress){ .run = 8, .start = 1767229200, .full_scan = 1,
		.files = 10, .entries = 12, .bytes_read = 1000, .duration = 0.25,
		.current = "/srv/partage/grand livre.db" };
	s.has_last = 0;
	s.ndests = 0;
	s.nwatched = 0;
	if (state_status_format(&s, &text, &err))
		die("status", &err);
	put("status", "running", text, strlen(text));
	free(text);
}

static void put_msg(const char *name, const struct runmsg *m)
{
	static char line[RUNMSG_MAX];
	size_t n = 0;
	struct cf_error err = { 0 };
	if (runmsg_format(m, line, sizeof line, &n, &err))
		die("runmsg", &err);
	put("runmsg", name, line, n);
}

/* The messages of a run's process, as coffred's child sends them after the backup that made
 * ${st} and ${snap} of ${src}: a progress report, the phases, a destination, the result; then all of
 * them in one pipe's worth, and strings that are not UTF-8 (sent in hex). */
static void runmsgs(const char *src, const struct backup_stats *st, const uint8_t snap[32])
{
	struct runmsg *m = calloc(1, sizeof *m);
	if (!m)
		die("runmsg", NULL);
	/* A small tree fills no batch, after which a run reports progress: the report is
	 * made of the run's final figures, on the file it changed last. */
	struct runmsg progress_msg = { .kind = RUNMSG_PROGRESS };
	struct runmsg_progress *p = &progress_msg.u.progress;
	*p = (struct runmsg_progress){ .files_new = st->files_new,
		.files_changed = st->files_changed, .files_unchanged = st->files_unchanged,
		.entries = st->entries, .bytes_read = st->bytes_read,
		.bytes_added = st->bytes_added, .duration = st->duration };
	snprintf(p->current, sizeof p->current, "%s/factures/facture-0012.txt", src);
	put_msg("progress", &progress_msg);
	*m = (struct runmsg){ .kind = RUNMSG_PHASE, .u.phase = "retention" };
	put_msg("phase-retention", m);
	*m = (struct runmsg){ .kind = RUNMSG_PHASE, .u.phase = "push" };
	put_msg("phase-push", m);
	*m = (struct runmsg){ .kind = RUNMSG_DEST };
	m->u.dest.index = 1;
	m->u.dest.d = (struct state_dest){ .name = "cloud", .url = "s3://s3.example.com/coffre",
		.result = "unreachable", .last_attempt = 1767225600, .pending_since = 1767139200,
		.pending = 3, .pending_bytes = 4096, .object_lock = 1,
		.lock_note = "COMPLIANCE, 30 days", .error = "cannot connect to s3.example.com" };
	put_msg("dest", m);
	*m = (struct runmsg){ .kind = RUNMSG_RESULT };
	struct state_run *s = &m->u.result.s;
	m->u.result.code = CF_EPARTIAL;
	*s = (struct state_run){ .run = 7, .start = 1767225600, .duration = st->duration,
		.result = "partial", .files = st->files_new + st->files_changed +
		st->files_unchanged, .files_new = st->files_new, .files_changed = st->files_changed,
		.bytes_read = st->bytes_read, .bytes_added = st->bytes_added,
		.entries = st->entries, .dirs_reused = st->dirs_reused, .warnings = 1,
		.missing = "/home/compta", .nwarn = 1, .retention = 1, .spool_cleared = 8192 };
	util_hex(s->snapshot, snap, 32);
	snprintf(s->warn[0], sizeof s->warn[0], "/srv/partage/fée \"x\": changed");
	put_msg("result", m);
	/* One pipe's worth: every message above, one line each. */
	struct buf all = { 0 };
	const char *names[] = { "progress", "phase-retention", "dest", "phase-push", "result" };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		char f[1200];
		struct buf b = { 0 };
		snprintf(f, sizeof f, "%s/runmsg/%s", out, names[i]);
		if (util_read_file(f, RUNMSG_MAX, &b, NULL) || buf_append(&all, b.p, b.len))
			die(f, NULL);
		buf_free(&b);
	}
	put("runmsg", "pipe", all.p, all.len);
	buf_free(&all);
	/* Names that are not UTF-8 travel in hex. */
	*m = progress_msg;
	snprintf(m->u.progress.current, sizeof m->u.progress.current, "/srv/partage/f\xe9" "e.txt");
	put_msg("edge-hex-current", m);
	*m = (struct runmsg){ .kind = RUNMSG_RESULT };
	m->u.result.code = CF_EIO;
	s->nwarn = 2;
	snprintf(s->result, sizeof s->result, "failed");
	snprintf(s->error, sizeof s->error, "cannot read '/srv/\xff\xfe'");
	snprintf(s->warn[0], sizeof s->warn[0], "\x80: unreadable");
	put_msg("edge-hex-result", m);
	free(m);
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
	struct repo_cred cred = { .password = "fuzz", .key_cache = 1 };
	if (repo_init(repo, "fuzz", NULL, rk, idhex, &err) || repo_open(repo, &cred, &r, &err))
		die("repository", &err);
	struct backup_stats st;
	uint8_t snap[32];
	backup(r, src, "premier", &st, snap);
	char p[700];
	snprintf(p, sizeof p, "%s/factures/facture-0003.txt", src);
	write_file(p, "FACTURE 0003\nannulée\n", 22);
	snprintf(p, sizeof p, "%s/factures/facture-0012.txt", src);
	write_file(p, "FACTURE 0012\n", 13);
	backup(r, src, "second", &st, snap);
	objects(r, REPO_SNAPSHOT, "snapshot");
	objects(r, REPO_INDEX, "index");
	trees(r);
	repo_files(r, repo, cache);
	pack_headers(r, repo);
	repo_free(r);
	statuses();
	runmsgs(src, &st, snap);
	char ksrc[700];
	snprintf(ksrc, sizeof ksrc, "%s/keyed-src", tmp);
	snprintf(p, sizeof p, "%s/keyed", tmp);
	keyed_packs(ksrc, p);
	edge_cases();
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
