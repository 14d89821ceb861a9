/* drill.c: one restore drill of one destination (drill.h): open it cold, choose within the
 * budget, restore into a scratch folder, check, keep the state, remove the folder. */
#include "coffre/drill.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "coffre/blob.h"
#include "coffre/diff.h"
#include "coffre/dst.h"
#include "coffre/repo.h"
#include "coffre/restore.h"
#include "coffre/snap.h"
#include "coffre/tree_walk.h"
#include "base/idset.h"
#include "base/util.h"
#include "maint/drill_internal.h"
#include "store/repo_internal.h"

#define SCRATCH_PREFIX "drill-scratch-"

struct drill {
	const struct drill_opts *o;
	struct drill_report *rep;
	struct cf_error *err;
	struct repo *r;
	struct blobidx *x;
	struct blob_reader *br;
	struct drill_state st;
	char *id, *state_path, *scratch;
	int lock_fd;		/* flock: one drill of a destination at a time on this machine */
	struct snap **snaps;
	size_t nsnaps;
	struct snap *latest, *oldest;
	struct drill_files files, old_files;
	/* Frames charged to the budget, and those the file being costed would add. */
	struct idset charged, pending;
	uint64_t pending_cost;
	/* The restore in progress: chosen paths and the folders on their way (hashed). */
	struct idset sel, way, failed;
	const char *snap_hex;		/* the snapshot the failures being found concern */
	int as_root;
	/* The full-restore estimate's measures: when the metadata was read (and what was known
	 * then), how long the latest snapshot's restore took for how many bytes, what it
	 * fetched and how long it waited for the network meanwhile, and the reads' pace. */
	uint64_t t0, meta_ns, restore_ns, restore_bytes, restore_fetched, restore_net_ns;
	uint64_t frames_stored, frames_plain;
	struct dst_read_pace pace;
	uint64_t load_ns;		/* the dumps' loads: not part of a restore's pace */
	char dbtag[17];			/* names this destination's scratch databases */
	int in_oldest;		/* choosing the oldest snapshot's sample (not counted as too big) */
};

static int cancelled(const struct drill *D)
{
	return D->o->cancel && *D->o->cancel;
}

static void progress(struct drill *D, const char *phase, uint64_t done, uint64_t total)
{
	if (D->o->progress)
		D->o->progress(D->o->ctx, phase, done, total);
}

static void path_key(const char *path, uint8_t out[32])
{
	crypto_generichash(out, 32, (const uint8_t *)path, strlen(path), NULL, 0);
}

/* What identifies ${path} of the snapshot being drilled among the failures. */
static void fail_key(const struct drill *D, const char *path, uint8_t out[32])
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, 32);
	crypto_generichash_update(&h, (const uint8_t *)D->snap_hex, strlen(D->snap_hex) + 1);
	crypto_generichash_update(&h, (const uint8_t *)path, strlen(path));
	crypto_generichash_final(&h, out, 32);
}

/* A failure about ${path} of the snapshot being drilled; a path fails once. */
static int fail(struct drill *D, int kind, const char *path, const char *msg)
{
	uint8_t k[32];
	fail_key(D, path, k);
	if (idset_has(&D->failed, k))
		return 0;
	if (idset_add(&D->failed, k))
		return CF_ENOMEM;
	return drill_fail(D->rep, kind, D->snap_hex, path, msg);
}

/* ---- the budget: frames of the packs ---- */

static void idset_clear(struct idset *s)
{
	if (s->cap)
		memset(s->used, 0, s->cap);
	s->n = 0;
}

/* Adds the frame that holds blob ${id} to those pending, unless charged already. */
static int frame_ref(void *ctx, const uint8_t id[32], uint32_t len)
{
	struct drill *D = ctx;
	struct blob_loc loc;
	(void)len;
	if (blobidx_get(D->x, id, &loc) != 0)
		return 0;	/* the restore will name what is missing */
	uint8_t k[32], b[36];
	memcpy(b, loc.pack, 32);
	le32_put(b + 32, loc.e.offset);
	crypto_generichash(k, sizeof k, b, sizeof b, NULL, 0);
	if (idset_has(&D->charged, k) || idset_has(&D->pending, k))
		return 0;
	if (idset_add(&D->pending, k))
		return CF_ENOMEM;
	D->pending_cost += loc.e.stored;
	return 0;
}

/* Loads a node of a file's chunk list: the restore reads it too, so its frame is charged. */
static int list_load(void *ctx, const uint8_t id[32], struct buf *ret, struct cf_error *err)
{
	struct drill *D = ctx;
	int rc = frame_ref(D, id, 0);
	return rc ? rc : blob_reader_load(D->br, id, ret, err);
}

static int cost(void *ctx, const struct drill_file *f, uint64_t *ret)
{
	struct drill *D = ctx;
	struct tree_entry e;
	idset_clear(&D->pending);
	D->pending_cost = 0;
	drill_file_entry(f, &e);
	/* A chunk list that cannot be read costs nothing here: the restore names it. */
	int rc = tree_walk_refs(list_load, D, &e, frame_ref, D, NULL);
	if (rc == CF_ENOMEM)
		return rc;
	*ret = D->pending_cost;
	return 0;
}

static int charge(void *ctx, const struct drill_file *f)
{
	struct drill *D = ctx;
	(void)f;
	for (size_t i = 0; i < D->pending.cap; i++)
		if (D->pending.used[i] && idset_add(&D->charged, D->pending.k[i]))
			return CF_ENOMEM;
	idset_clear(&D->pending);
	return 0;
}

static void skipped(void *ctx, const struct drill_file *f, uint64_t c)
{
	struct drill *D = ctx;
	if (!D->in_oldest) {	/* the latest snapshot's files: what a full drill would prove */
		D->rep->too_big++;
		if (drill_is_db_name(f->path) || drill_is_dump_path(f->path))
			D->rep->databases_too_big++;
	}
	drill_warn(D->rep, "'%s' needs %llu bytes, more than this part of the budget: only a "
		"full drill restores it", f->path, (unsigned long long)c);
}

/* ---- choosing ---- */

static void on_walk_problem(void *ctx, const char *path, int code, const char *msg)
{
	struct drill *D = ctx;
	(void)code;
	fail(D, strncmp(msg, "refused", 7) == 0 ? DRILL_F_REFUSED : DRILL_F_TREE, path, msg);
}

/* Every file of ${s} into ${fs}; 0 with a failure when its root cannot be read (-1 then). */
static int walk(struct drill *D, const struct snap *s, struct drill_files *fs)
{
	struct cf_error e2 = { 0 };
	D->snap_hex = s->idhex;
	int rc = drill_files_walk(blob_reader_load, D->br, s->tree, D->st.key, on_walk_problem, D,
		fs, &e2);
	if (rc == CF_ENOMEM)
		return cf_error_set(D->err, rc, "out of memory");
	if (rc) {
		fail(D, DRILL_F_TREE, "/", e2.msg);
		return -1;
	}
	return drill_files_index(fs) ? cf_error_set(D->err, CF_ENOMEM, "out of memory") : 0;
}

static void on_diff(void *ctx, char op, const char *path)
{
	struct drill_file *f = op != '-' ? drill_files_find(ctx, path) : NULL;
	if (f)
		f->changed = 1;
}

/* Marks the files of the latest snapshot that changed since the baseline. */
static void mark_changed(struct drill *D)
{
	const struct snap *base = NULL;
	for (size_t i = 0; i < D->nsnaps && D->st.baseline[0]; i++)
		if (strcmp(D->snaps[i]->idhex, D->st.baseline) == 0)
			base = D->snaps[i];
	if (base == D->latest || !D->st.baseline[0])
		return;
	if (base && diff_trees(D->br, base->tree, D->latest->tree, on_diff, &D->files) == 0)
		return;
	/* The baseline is gone (forgotten) or unreadable: what was modified since it was made. */
	for (size_t i = 0; i < D->files.n; i++)
		if (D->files.v[i].mtime_s >= D->st.baseline_time)
			D->files.v[i].changed = 1;
}

static int choose(struct drill *D)
{
	struct drill_report *R = D->rep;
	uint64_t b = D->o->budget;
	if (!b) {
		b = D->files.bytes / DRILL_BUDGET_SHARE;
		if (b > DRILL_BUDGET_MAX)
			b = DRILL_BUDGET_MAX;
	}
	R->budget = b;
	if (D->o->full) {
		for (size_t i = 0; i < D->files.n; i++)
			D->files.v[i].why = DRILL_WHY_FULL;
		return 0;
	}
	uint64_t old_part = D->oldest ? b / DRILL_OLDEST_SHARE : 0;
	struct drill_chooser c = { .cost = cost, .charge = charge, .skipped = skipped, .ctx = D,
		.limit = b - old_part };
	mark_changed(D);
	int rc = drill_choose(&c, &D->files, &R->chosen);
	if (rc == 0)
		rc = drill_rotate(&c, &D->files, &D->st.cursor, &R->chosen.rotation);
	R->bytes_selected = c.used;
	if (rc || !D->oldest)
		return rc ? cf_error_set(D->err, rc, "out of memory") : 0;
	progress(D, "oldest", 0, 0);
	if ((rc = walk(D, D->oldest, &D->old_files)) != 0)
		return rc < 0 ? 0 : rc;
	/* Its own restore fetches the frames it needs again, those of the latest included. */
	idset_free(&D->charged);
	struct drill_chooser o = c;
	o.limit = old_part;
	o.used = 0;
	D->in_oldest = 1;
	rc = drill_rotate(&o, &D->old_files, &D->st.oldest_cursor, &R->chosen.oldest);
	D->in_oldest = 0;
	R->bytes_selected += o.used;
	return rc ? cf_error_set(D->err, rc, "out of memory") : 0;
}

/* ---- restoring and checking ---- */

static int on_select(void *ctx, const char *path)
{
	struct drill *D = ctx;
	uint8_t k[32];
	path_key(path, k);
	return idset_has(&D->sel, k) ? 0 : idset_has(&D->way, k) ? 1 : -1;
}

static int select_files(struct drill *D, const struct drill_files *fs)
{
	idset_free(&D->sel);
	idset_free(&D->way);
	uint8_t k[32];
	for (size_t i = 0; i < fs->n; i++) {
		if (!fs->v[i].why)
			continue;
		char *p = strdup(fs->v[i].path);
		if (!p)
			return CF_ENOMEM;
		path_key(p, k);
		int rc = idset_add(&D->sel, k);
		for (char *s; rc == 0 && (s = strrchr(p, '/')) && s != p;) {
			*s = 0;
			path_key(p, k);
			rc = idset_add(&D->way, k);
		}
		free(p);
		if (rc)
			return rc;
	}
	return 0;
}

static void on_restore_problem(void *ctx, const char *path, const char *msg)
{
	struct drill *D = ctx;
	fail(D, drill_classify(msg), path, msg);
}

static void on_restore_progress(void *ctx, const struct restore_stats *st)
{
	progress(ctx, "restore", st->files, 0);
}

/* The checks beyond the content ids, on each chosen file restored under ${target}. */
static int check_files(struct drill *D, const char *target, const struct drill_files *fs)
{
	struct drill_report *R = D->rep;
	char msg[400];
	uint8_t k[32];
	for (size_t i = 0; i < fs->n; i++) {
		const struct drill_file *f = &fs->v[i];
		if (!f->why)
			continue;
		if (cancelled(D))
			return CF_ECANCELED;
		fail_key(D, f->path, k);
		if (idset_has(&D->failed, k))
			continue;	/* damaged, named already */
		char *p = util_path("%s%s", target, f->path);
		if (!p || (D->o->list && drill_list(R, f->path))) {
			free(p);
			return CF_ENOMEM;
		}
		progress(D, "check", i, fs->n);
		R->files++;
		R->bytes += f->size;
		R->metadata_checked++;
		int rc = drill_check_meta(p, f, D->as_root, msg, sizeof msg) ?
				 fail(D, DRILL_F_METADATA, f->path, msg) : 0;
		int live = rc ? 0 : drill_check_live(p, f, msg, sizeof msg);
		R->live_compared += live != 0;
		if (live < 0)
			rc = fail(D, DRILL_F_LIVE, f->path, msg);
		char *why = NULL;
		if (rc == 0 && drill_sqlite_magic(p)) {
			R->sqlite_checked++;
			if (drill_sqlite_check(p, &why))
				rc = fail(D, DRILL_F_SQLITE, f->path, why ? why : "integrity_check failed");
		}
		if (rc == 0 && !why && drill_is_dump_path(f->path)) {
			uint64_t t = util_now_ns();
			progress(D, "load", i, fs->n);
			/* The oldest snapshot's dumps prove their packs; a load, the latest. */
			int d = drill_dump_check(R, D->o, D->dbtag, D->snap_hex, p, f->path,
				D->latest && strcmp(D->snap_hex, D->latest->idhex) == 0, &why);
			D->load_ns += util_now_ns() - t;
			rc = d == 1 ? fail(D, DRILL_F_DUMP, f->path, why) : d;
		}
		free(why);
		free(p);
		if (rc)
			return rc;
	}
	return 0;
}

/* Restores what was chosen of ${s} into SCRATCH/${sub}, then checks it. */
static int drill_snapshot(struct drill *D, const struct snap *s, const struct drill_files *fs,
	const char *sub)
{
	char *target = util_path("%s/%s", D->scratch, sub);
	if (!target)
		return cf_error_set(D->err, CF_ENOMEM, "out of memory");
	int rc = D->o->full ? 0 : select_files(D, fs);
	struct restore_opts ro = { .target = target, .verify = 1,
		.select = D->o->full ? NULL : on_select, .cancel = D->o->cancel,
		.progress = on_restore_progress, .problem = on_restore_problem, .ctx = D };
	struct restore_stats rs = { 0 };
	struct cf_error e2 = { 0 };
	D->snap_hex = s->idhex;
	if (rc == 0)
		rc = restore_run(D->r, s, &ro, &rs, &e2);
	else
		rc = cf_error_set(&e2, CF_ENOMEM, "out of memory");
	switch (rc) {
	case 0:
	case CF_ECORRUPT:	/* damaged entries: each named through the problem callback */
	case CF_EPARTIAL:
		rc = check_files(D, target, fs);
		if (rc == CF_ENOMEM || rc == CF_ECANCELED)
			cf_error_set(D->err, rc, "%s", rc == CF_ENOMEM ? "out of memory" :
				"drill stopped on request");
		break;
	case CF_ECANCELED:
	case CF_ENOMEM:
	case CF_EUNREACH:
	case CF_EKEY:
	case CF_ENOSPC:
		*D->err = e2;
		break;
	default:
		/* What stopped the restore is what the destination could not give back. */
		rc = fail(D, drill_classify(e2.msg), "/", e2.msg);
	}
	free(target);
	return rc;
}

/* ---- the run ---- */

/* Opens the destination as a fresh machine would, locked shared; lists its snapshots. */
static int open_cold(struct drill *D)
{
	struct repo_cred cred = *D->o->cred;
	cred.key_cache = 0;
	char *cache = util_path("%s/cache", D->scratch);
	int rc = cache ? 0 : cf_error_set(D->err, CF_ENOMEM, "out of memory");
	progress(D, "open", 0, 0);
	if (rc == 0)
		rc = repo_open_at(D->o->url, D->o->dst_opt, &cred, &D->r, D->err);
	if (rc == 0)
		rc = repo_set_cache_dir(D->r, cache, D->err);
	free(cache);
	if (rc)
		return rc;
	repo_set_exact_reads(D->r, !D->o->full);
	if ((rc = repo_lock(D->r, 0, D->err)))
		return rc;
	size_t bad = 0;
	if ((rc = snap_list(D->r, &D->snaps, &D->nsnaps, &bad, D->err)))
		return rc;
	if (bad) {
		char m[80];
		snprintf(m, sizeof m, "%zu snapshots cannot be read", bad);
		fail(D, DRILL_F_SNAPSHOT, "snapshots/", m);
	}
	if (snap_find(D->snaps, D->nsnaps, "latest", &D->latest, NULL) != 0) {
		D->latest = NULL;
		return fail(D, DRILL_F_SNAPSHOT, "snapshots/", "no snapshot to restore");
	}
	for (size_t i = 0; i < D->nsnaps && !D->oldest; i++)
		if (!D->snaps[i]->future && D->snaps[i] != D->latest)
			D->oldest = D->snaps[i];
	return 0;
}

/* Opens the index from the destination and names each index object it cannot read. */
static int open_index(struct drill *D)
{
	progress(D, "index", 0, 0);
	int rc = blobidx_open(D->r, &D->x, D->err);
	if (rc == 0)
		rc = blob_reader_new(D->r, D->x, &D->br, D->err);
	if (rc || blobidx_bad_indexes(D->x) == 0)
		return rc;
	uint8_t (*ids)[32] = NULL;
	size_t n = 0;
	struct cf_error e2 = { 0 };
	if ((rc = repo_list(D->r, REPO_INDEX, &ids, &n, D->err)))
		return rc;
	D->snap_hex = "";
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct blob_pack *p = NULL;
		size_t np = 0;
		if (blob_index_read(D->r, ids[i], &p, &np, &e2) == 0) {
			blob_packs_free(p, np);
			continue;
		}
		char name[80];
		util_hex(name + 6, ids[i], 32);
		memcpy(name, "index/", 6);
		rc = drill_fail(D->rep, DRILL_F_INDEX, "", name, e2.msg);
	}
	free(ids);
	return rc;
}

/* The state and the scratch folder, leftovers of an interrupted drill removed first. */
static int prepare(struct drill *D)
{
	const struct drill_opts *o = D->o;
	char *dir = util_path("%s/drill", o->state_dir);
	D->id = drill_state_id(o->name, o->url);
	if (D->id) {
		uint8_t h[4];
		crypto_generichash(h, sizeof h, (const uint8_t *)D->id, strlen(D->id), NULL, 0);
		util_hex(D->dbtag, h, sizeof h);
	}
	D->state_path = D->id && dir ? util_path("%s/%s.json", dir, D->id) : NULL;
	const char *parent = o->scratch_dir ? o->scratch_dir : dir;
	D->scratch = D->state_path ? util_path("%s/" SCRATCH_PREFIX "%s", parent, D->id) : NULL;
	int rc = 0;
	if (!D->scratch)
		rc = cf_error_set(D->err, CF_ENOMEM, "out of memory");
	else if (util_mkdirs(dir, 0700) != 0 || util_mkdirs(parent, 0700) != 0)
		rc = cf_error_sys(D->err, CF_EIO, "cannot create '%s'", parent);
	/* Two drills of one destination would share its scratch folder and state. */
	char *lock = rc ? NULL : util_path("%s/%s.lock", dir, D->id);
	free(dir);
	if (rc || !lock) {
		free(lock);
		return rc ? rc : cf_error_set(D->err, CF_ENOMEM, "out of memory");
	}
	D->lock_fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (D->lock_fd < 0)
		rc = cf_error_sys(D->err, CF_EIO, "cannot open '%s'", lock);
	else if (flock(D->lock_fd, LOCK_EX | LOCK_NB) != 0)
		rc = errno == EWOULDBLOCK ? cf_error_set(D->err, CF_ELOCKED, "a drill of '%s' is "
			"under way", o->name ? o->name : o->url) :
			cf_error_sys(D->err, CF_EIO, "cannot lock '%s'", lock);
	free(lock);
	if (rc)
		return rc;
	struct cf_error e2 = { 0 };
	rc = drill_state_load(D->state_path, &D->st, &e2);
	if (rc == CF_ENOMEM)
		return cf_error_set(D->err, rc, "out of memory");
	if (rc) {
		if (rc != CF_ENOENT)
			drill_warn(D->rep, "%s: started afresh", e2.msg);
		drill_state_fresh(&D->st);
	}
	/* Only a folder named as this destination's scratch is removed. */
	const char *left = D->st.scratch ? strrchr(D->st.scratch, '/') : NULL;
	if (left && strncmp(left + 1, SCRATCH_PREFIX, strlen(SCRATCH_PREFIX)) == 0 &&
	    strcmp(left + 1 + strlen(SCRATCH_PREFIX), D->id) == 0)
		drill_scratch_remove(D->st.scratch);
	if (drill_scratch_remove(D->scratch) != 0 && errno != ENOENT)
		return cf_error_sys(D->err, CF_EIO, "cannot remove the old scratch folder '%s'",
			D->scratch);
	if (mkdir(D->scratch, 0700) != 0)
		return cf_error_sys(D->err, CF_EIO, "cannot create '%s'", D->scratch);
	free(D->st.scratch);
	if (!(D->st.scratch = strdup(D->scratch)))
		rc = cf_error_set(D->err, CF_ENOMEM, "out of memory");
	else
		rc = drill_state_save(D->state_path, &D->st, o->name, o->url, D->err);
	if (rc)
		drill_scratch_remove(D->scratch);
	return rc;
}

static int run(struct drill *D)
{
	int rc = open_cold(D);
	if (rc || !D->latest || cancelled(D))
		return rc ? rc : cancelled(D) ? CF_ECANCELED : 0;
	struct drill_report *R = D->rep;
	snprintf(R->snapshot, sizeof R->snapshot, "%s", D->latest->idhex);
	R->snapshot_time = D->latest->time;
	if (!D->o->full && D->oldest)
		snprintf(R->oldest, sizeof R->oldest, "%s", D->oldest->idhex);
	if ((rc = open_index(D)) || cancelled(D))
		return rc ? rc : CF_ECANCELED;
	progress(D, "select", 0, 0);
	if ((rc = walk(D, D->latest, &D->files)) != 0)
		return rc < 0 ? 0 : rc;
	R->snapshot_files = D->files.n;
	R->snapshot_bytes = D->files.bytes;
	if ((rc = choose(D)) || cancelled(D))
		return rc ? rc : CF_ECANCELED;
	R->bytes_metadata = dst_bytes_read(repo_dst(D->r));
	struct dst_read_pace p0;
	dst_read_pace(repo_dst(D->r), &p0);
	uint64_t t_chosen = util_now_ns();
	D->meta_ns = t_chosen - D->t0;
	/* The restore opens the index again (from the cache just made) and a reader of its own. */
	blob_reader_free(D->br);
	D->br = NULL;
	blobidx_free(D->x);
	D->x = NULL;
	if ((rc = drill_snapshot(D, D->latest, &D->files, "latest")))
		return rc;
	D->restore_ns = util_now_ns() - t_chosen - D->load_ns;
	D->restore_bytes = R->bytes;
	D->restore_fetched = dst_bytes_read(repo_dst(D->r)) - R->bytes_metadata;
	dst_read_pace(repo_dst(D->r), &D->pace);
	D->restore_net_ns = D->pace.ns - p0.ns;
	repo_frames_read(D->r, &D->frames_stored, &D->frames_plain);
	if (!D->o->full && D->oldest && R->chosen.oldest)
		rc = drill_snapshot(D, D->oldest, &D->old_files, "oldest");
	return rc;
}

/* A full restore's time, in ns, from this drill's: it reads the same metadata, then every
 * file of the latest snapshot. The drill's own work (decrypt, write, check) scales with the
 * bytes restored. Its network time does not: it read frame by frame, paying a request's
 * latency for each and fetching whole frames for parts of them, where a full restore
 * fetches whole packs once. So what a full restore fetches (the snapshot's bytes at the
 * compression of the frames this drill opened) is divided by the pace of large reads (of
 * all reads when none was large: then an upper bound), no faster than the download limit. */
static double estimate(const struct drill *D)
{
	double scale = (double)D->rep->snapshot_bytes / (double)D->restore_bytes;
	uint64_t net = D->restore_net_ns < D->restore_ns ? D->restore_net_ns : D->restore_ns;
	double own = (double)(D->restore_ns - net) * scale;
	if (!net)
		return (double)D->meta_ns + own;	/* nothing waited on a network */
	const struct dst_read_pace *p = &D->pace;
	double pace = p->big_bytes >= 4 * (uint64_t)DST_BIG_READ && p->big_ns ?
			      (double)p->big_bytes / (double)p->big_ns :
			      (double)p->bytes / (double)(p->ns ? p->ns : 1);
	uint64_t cap = D->o->dst_opt ? D->o->dst_opt->download_limit : 0;
	if (cap && pace > (double)cap / 1e9)
		pace = (double)cap / 1e9;
	uint64_t stored = D->frames_stored, plain = D->frames_plain;
	double bytes = plain ? (double)D->rep->snapshot_bytes * (double)stored / (double)plain :
			       (double)D->restore_fetched * scale;
	return (double)D->meta_ns + own + (pace > 0 ? bytes / pace : (double)net * scale);
}

/* What the state keeps of this drill. */
static void record(struct drill *D, int64_t end)
{
	struct drill_report *R = D->rep;
	struct drill_last *l = &D->st.last;
	snprintf(l->snapshot, sizeof l->snapshot, "%s", R->snapshot);
	D->st.snapshot_time = R->snapshot_time;
	l->when = end;
	l->result = R->ok ? DRILL_RESULT_OK : DRILL_RESULT_FAILED;
	l->full = R->full;
	l->files = R->files;
	l->bytes = R->bytes;
	l->bytes_fetched = R->bytes_fetched;
	l->failures = R->nfailures;
	l->seconds = R->seconds;
	l->throughput = R->throughput;
	if (R->ok && R->full && R->snapshot_bytes >= (1u << 20))
		D->st.full_pace = R->seconds / (double)R->snapshot_bytes;
	if (R->ok) {
		l->last_ok = end;
		memcpy(D->st.baseline, l->snapshot, sizeof D->st.baseline);
		D->st.baseline_time = D->st.snapshot_time;
	}
}

int drill_run(const struct drill_opts *o, struct drill_report **ret, struct cf_error *err)
{
	struct drill D = { .o = o, .err = err, .as_root = geteuid() == 0, .snap_hex = "",
		.lock_fd = -1 };
	struct drill_report *R = D.rep = calloc(1, sizeof *R);
	if (!R || !(R->url = strdup(o->url)) ||
	    !(R->destination = strdup(o->name ? o->name : o->url))) {
		drill_report_free(R);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	uint64_t t0 = D.t0 = util_now_ns();
	R->started = o->now ? o->now : (int64_t)time(NULL);
	R->full = o->full;
	R->ok = 1;
	int rc = sodium_init() < 0 ? cf_error_set(err, CF_EIO, "libsodium cannot start") : 0;
	if (rc == 0 && (!o->url || !o->state_dir || !o->cred))
		rc = cf_error_set(err, CF_EUSAGE, "a drill needs a destination, a state folder and "
			"credentials");
	int prepared = rc == 0 && (rc = prepare(&D)) == 0;
	if (prepared)
		rc = run(&D);
	if (D.r)
		R->bytes_fetched = dst_bytes_read(repo_dst(D.r));
	blob_reader_free(D.br);
	blobidx_free(D.x);
	repo_free(D.r);	/* unlocks */
	R->seconds = (double)(util_now_ns() - t0) / 1e9;
	if (R->seconds > 0)
		R->throughput = (double)R->bytes_fetched / R->seconds;
	if (D.restore_bytes >= (1u << 20) && D.restore_ns > 0)
		R->estimate_full_restore_seconds = estimate(&D) / 1e9;
	else if (R->throughput > 0)	/* too little restored to time */
		R->estimate_full_restore_seconds = (double)R->snapshot_bytes / R->throughput;
	/* Once a full drill has passed, its own pace is the better measure. */
	if (prepared && !R->full && D.st.full_pace > 0)
		R->estimate_full_restore_seconds = D.st.full_pace * (double)R->snapshot_bytes;
	if (prepared) {
		if (drill_scratch_remove(D.scratch) != 0 && errno != ENOENT) {
			drill_warn(R, "cannot remove the scratch folder '%s': %s (removed at the "
				"next drill)", D.scratch, strerror(errno));
		} else {
			free(D.st.scratch);
			D.st.scratch = NULL;
		}
		if (rc == 0)
			record(&D, o->now ? o->now : (int64_t)time(NULL));
		struct cf_error e2 = { 0 };
		if (drill_state_save(D.state_path, &D.st, o->name, o->url, &e2) != 0 && rc == 0)
			drill_warn(R, "%s", e2.msg);
	}
	if (rc) {
		R->code = rc;
		R->err = *err;
		R->ok = 0;
	}
	snap_list_free(D.snaps, D.nsnaps);
	drill_files_free(&D.files);
	drill_files_free(&D.old_files);
	idset_free(&D.charged);
	idset_free(&D.pending);
	idset_free(&D.sel);
	idset_free(&D.way);
	idset_free(&D.failed);
	drill_state_release(&D.st);
	free(D.id);
	free(D.state_path);
	if (D.lock_fd >= 0)
		close(D.lock_fd);
	free(D.scratch);
	*ret = R;
	return rc;
}
