/* push.c: spool to destination. */
#include "coffre/push.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "coffre/blob.h"
#include "coffre/dst.h"
#include "coffre/error.h"
#include "coffre/lock_extend.h"
#include "coffre/pack.h"
#include "coffre/snap.h"
#include "maint/push_internal.h"
#include "store/repo_internal.h"

/* Reads back what was just stored: the size, then the content through the key. */
static int verify(struct repo *spool, struct dst *to, const struct obj *o, struct cf_error *err)
{
	uint64_t size = 0;
	int rc = dst_stat(to, o->name, &size, err);
	if (rc)
		return rc;
	if (size != o->size)
		return cf_error_set(err, CF_ECORRUPT, "%s: the destination holds %llu bytes, not %llu",
			o->name, (unsigned long long)size, (unsigned long long)o->size);
	if (o->rank == 2) {
		/* A pack: its header must open with the key, and one frame drawn at random must
		 * open and match its id. */
		struct pack_src src = { .fd = -1, .d = to, .name = o->name, .size = size };
		struct pack_entry *e = NULL;
		size_t n = 0;
		if ((rc = pack_read_header_src(spool, &src, &e, &n, NULL, err)))
			return rc;
		if (n) {
			struct buf b = { 0 };
			rc = pack_read_blob_src(spool, &src, &e[randombytes_uniform((uint32_t)n)], &b,
				err);
			buf_free(&b);
		}
		free(e);
		return rc;
	}
	/* Small objects come back whole: index and snapshots are named by their hash, config
	 * and keys are compared with the spool's copy. */
	struct buf there = { 0 }, here = { 0 };
	if ((rc = dst_get(to, o->name, o->size + 1, &there, err)) == 0 &&
	    (rc = dst_get(spool->d, o->name, o->size + 1, &here, err)) == 0 &&
	    (there.len != here.len || memcmp(there.p, here.p, here.len) != 0))
		rc = cf_error_set(err, CF_ECORRUPT, "%s differs on the destination", o->name);
	buf_free(&there);
	buf_free(&here);
	return rc;
}

/* Counts ${o} as still missing at the destination; a snapshot's time dates the backlog. */
static void note_pending(struct repo *spool, const struct obj *o, struct push_stats *st)
{
	st->pending++;
	st->pending_bytes += o->size;
	uint8_t id[32];
	const char *hex = o->name + 10;
	if (o->rank != 5 || strlen(hex) != 64 || sodium_hex2bin(id, sizeof id, hex, 64, NULL,
		NULL, NULL) != 0)
		return;
	struct snap *s = NULL;
	if (snap_load(spool, id, &s, NULL) == 0) {
		if (st->pending_since == 0 || s->time < st->pending_since)
			st->pending_since = s->time;
		snap_free(s);
	}
}

static int diff(struct repo *spool, struct dst *to, struct objs *mine, struct objs *theirs,
	struct cf_error *err)
{
	int rc;
	if (!dst_is_local(spool->d))
		return cf_error_set(err, CF_EUSAGE, "the spool must be a local folder");
	if ((rc = push_list(spool->d, mine, 1, err)) ||
	    (rc = push_list(to, theirs, 0, err)))
		return rc;
	return 0;
}

/* Whether the spool's object ${m}, which the destination lacks, is to go there: a snapshot
 * (or its pin) its policy keeps; a pack or an index object it needs (push_select.c). */
static int wanted(const struct obj *m, const struct retain *rt, const struct push_sel *sel)
{
	if (rt && m->rank >= 4 && !retain_wants(rt, m->name))
		return 0;
	return push_sel_wants(sel, m->name) || push_sel_own(sel, m->name);
}

int push_pending(struct repo *spool, struct dst *to, const struct forget_policy *keep,
	struct push_stats *ret, struct cf_error *err)
{
	struct objs mine = { 0 }, theirs = { 0 };
	struct push_stats st = { 0 };
	struct repo *there = NULL;
	struct retain rt = { 0 }, *plan = NULL;
	struct push_sel sel = { 0 };
	int rc = diff(spool, to, &mine, &theirs, err);
	if (rc == 0)
		rc = repo_attach(spool, to, &there, err);
	/* What the destination's policy would not keep is not pending. */
	if (rc == 0 && keep &&
	    (rc = retain_plan(spool, there, &theirs, keep, (int64_t)time(NULL), &rt, err)) == 0)
		plan = &rt;
	if (rc == 0)
		push_select(spool, there, &mine, &theirs, plan, &sel, NULL);
	for (size_t i = 0; rc == 0 && i < mine.n; i++) {
		const struct obj *t = push_find(&theirs, mine.v[i].name);
		if (t && t->size == mine.v[i].size)
			st.present++;
		else if (wanted(&mine.v[i], plan, &sel))
			note_pending(spool, &mine.v[i], &st);
	}
	if (plan)
		retain_free(plan);
	push_sel_free(&sel);
	repo_free(there);
	push_objs_free(&mine);
	push_objs_free(&theirs);
	if (ret)
		*ret = st;
	return rc;
}

/* Uploads one object of the spool and reads it back. CF_ENOENT: the spool lacks it. */
static int send_one(struct repo *spool, struct dst *to, const struct obj *m,
	struct cf_error *err)
{
	int fd;
	int rc = dst_open_read(spool->d, m->name, &fd, err);
	if (rc)
		return rc;
	rc = dst_put_fd(to, m->name, fd, err);
	close(fd);
	return rc ? rc : verify(spool, to, m, err);
}

/* Writes the destination's own version of a spool index object (after its packs). */
static int send_own(struct repo *there, const struct push_own *own, struct push_stats *st,
	struct cf_error *err)
{
	uint8_t (*ids)[32] = NULL;
	size_t n = 0;
	int rc = blob_index_write_all(there, own->packs, own->n, &ids, &n, err);
	free(ids);
	if (rc == 0)
		st->own_indexes += n;
	return rc;
}

/* Sends what ${to} lacks and needs, in order. A snapshot (or its pin) the destination's plan
 * does not keep is not sent, nor a pack whose blobs it holds already (${sel}). On failure,
 * what is left counts as pending. */
static int send_all(struct repo *spool, struct repo *there, const struct push_opts *o,
	const struct objs *mine, const struct objs *theirs, const struct retain *rt,
	const struct push_sel *sel, struct push_stats *st, struct cf_error *err)
{
	struct dst *to = repo_dst(there);
	int rc = 0;
	for (size_t i = 0; i < mine->n; i++) {
		const struct obj *m = &mine->v[i];
		const struct obj *t = push_find(theirs, m->name);
		if (t && t->size == m->size) {
			st->present++;
			continue;
		}
		if (!wanted(m, rt, sel)) {
			st->skipped += m->rank < 4;
			continue;
		}
		const struct push_own *own = push_sel_own(sel, m->name);
		if (o && o->cancel && atomic_load(o->cancel)) {
			rc = cf_error_set(err, CF_EIO, "cancelled");
		} else if (own) {
			if ((rc = send_own(there, own, st, err)) == 0)
				continue;
		} else {
			if (o && o->progress)
				o->progress(o->ctx, m->name, i, mine->n);
			rc = send_one(spool, to, m, err);
			if (rc == CF_ENOENT) {
				/* Cleared from the spool after other destinations got it. */
				st->missing_locally++;
				rc = 0;
				continue;
			}
		}
		if (rc) {
			/* Everything from here on stays pending, in order. */
			for (size_t j = i; j < mine->n; j++) {
				const struct obj *tj = push_find(theirs, mine->v[j].name);
				if ((!tj || tj->size != mine->v[j].size) &&
				    wanted(&mine->v[j], rt, sel))
					note_pending(spool, &mine->v[j], st);
			}
			return rc;
		}
		st->sent++;
		st->sent_bytes += m->size;
		st->verified++;
	}
	return 0;
}

/* A full destination: thin its oldest unpinned snapshots past the floor, one at a time,
 * until what is left to send fits. */
static int make_room(struct repo *spool, struct repo *there, struct retain *rt, int64_t floor,
	struct push_names *refused, struct push_stats *st, struct cf_error *err)
{
	for (;;) {
		if (!retain_thin_one(rt, floor)) {
			st->too_small = 1;
			return cf_error_set(err, CF_ENOSPC, "%s is too small: it is full with only "
				"the snapshots of the last %lld days and the pinned ones; the copy it "
				"holds stays as it is: use a larger drive", dst_url(repo_dst(there)),
				(long long)(floor / 86400));
		}
		st->thinned++;
		/* Too full even for the index that removing packs needs: thin more. */
		int rc = retain_apply(spool, there, rt, refused, st, err);
		if (rc != CF_ENOSPC)
			return rc;
	}
}

int push_run(struct repo *spool, struct dst *to, const struct push_opts *o,
	struct push_stats *ret, struct cf_error *err)
{
	struct objs mine = { 0 }, theirs = { 0 };
	struct push_stats st = { 0 };
	struct repo *there = NULL;
	struct retain rt = { 0 }, *plan = NULL;
	uint64_t t0 = util_now_ns();
	int64_t floor = o && o->floor > 0 ? o->floor : PUSH_FLOOR_DEFAULT;
	/* Shared locks on both sides: no prune of the spool while its objects are read, and no
	 * prune of the destination that would take our packs for leftovers before their index
	 * arrives. */
	int rc = repo_lock(spool, 0, err);
	if (rc)
		return rc;
	if ((rc = diff(spool, to, &mine, &theirs, err)))
		goto out;
	if ((rc = repo_attach(spool, to, &there, err)) || (rc = repo_lock(there, 0, err)))
		goto out;
	if (o && o->keep) {
		if ((rc = retain_plan(spool, there, &theirs, o->keep, (int64_t)time(NULL), &rt, err)))
			goto out;
		plan = &rt;
	}
	for (;;) {
		struct push_stats before = st;
		struct push_sel sel = { 0 };
		push_select(spool, there, &mine, &theirs, plan, &sel, NULL);
		rc = send_all(spool, there, o, &mine, &theirs, plan, &sel, &st, err);
		push_sel_free(&sel);
		if (rc != CF_ENOSPC || !plan)
			break;
		/* Room is made, then everything is listed and tried again. */
		struct cf_error e2 = { 0 };
		int mr = make_room(spool, there, plan, floor, o->refused, &st, &e2);
		if (mr) {
			if (err)
				*err = e2;
			rc = mr;
			break;
		}
		push_objs_free(&theirs);
		st.pending = before.pending;
		st.pending_bytes = before.pending_bytes;
		st.pending_since = before.pending_since;
		st.present = before.present;
		if ((rc = repo_lock_mode(there, 0, err)) || (rc = push_list(to, &theirs, 0, err)))
			break;
	}
	if (rc == 0 && st.missing_locally)
		rc = cf_error_set(err, CF_EIO, "%s lacks %llu objects the spool no longer holds: "
			"copy them from another destination", dst_url(to),
			(unsigned long long)st.missing_locally);
	/* Another process reading that copy (a restore from it) only delays its retention to
	 * the next push. */
	if (rc == 0 && plan && (rc = retain_apply(spool, there, plan, o->refused, &st, err)) == CF_ELOCKED) {
		st.retain_deferred = 1;
		rc = 0;
	}
	/* A lock the keys may not delete stays behind: let it be a shared one. */
	if (rc == 0 && plan)
		repo_lock_mode(there, 0, NULL);
out:
	if (plan)
		retain_free(plan);
	repo_free(there);
	repo_unlock(spool);
	push_objs_free(&mine);
	push_objs_free(&theirs);
	st.duration = (double)(util_now_ns() - t0) / 1e9;
	if (ret)
		*ret = st;
	return rc;
}

/* A data pack: every entry of it is a data blob, by the index. */
static int data_packs(struct repo *spool, struct objs *ret, struct cf_error *err)
{
	uint8_t (*ids)[ID_LEN] = NULL;
	size_t n = 0;
	int rc = repo_list(spool, REPO_INDEX, &ids, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct blob_pack *p = NULL;
		size_t np = 0;
		if ((rc = blob_index_read(spool, ids[i], &p, &np, err)))
			break;
		for (size_t j = 0; j < np && rc == 0; j++) {
			int data = p[j].n > 0;
			for (size_t k = 0; k < p[j].n; k++)
				if (p[j].e[k].type != BLOB_DATA)
					data = 0;
			if (!data)
				continue;
			char name[80];
			pack_name(name, p[j].id);
			rc = push_objs_add(ret, name, 0);
		}
		blob_packs_free(p, np);
	}
	free(ids);
	return rc == CF_ENOMEM ? cf_error_set(err, rc, "out of memory") : rc;
}

int push_clear(struct repo *spool, struct dst *const *to, size_t n, uint64_t *ret_bytes,
	struct cf_error *err)
{
	struct objs packs = { 0 }, mine = { 0 };
	struct objs *theirs = calloc(n ? n : 1, sizeof *theirs);
	uint64_t freed = 0;
	int rc = theirs ? 0 : cf_error_set(err, CF_ENOMEM, "out of memory");
	if (rc == 0 && n == 0)
		rc = cf_error_set(err, CF_EUSAGE, "no destination: the spool is the only copy");
	if (rc == 0 && !dst_is_local(spool->d))
		rc = cf_error_set(err, CF_EUSAGE, "the spool must be a local folder");
	if (rc == 0)
		rc = data_packs(spool, &packs, err);
	if (rc == 0)
		rc = push_list(spool->d, &mine, 0, err);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = push_list(to[i], &theirs[i], 0, err);
	size_t unreadable = 0;
	for (size_t i = 0; rc == 0 && i < packs.n; i++) {
		const struct obj *m = push_find(&mine, packs.v[i].name);
		if (!m)
			continue;
		int everywhere = 1;
		for (size_t j = 0; j < n && everywhere; j++) {
			const struct obj *t = push_find(&theirs[j], m->name);
			everywhere = t && t->size == m->size;
		}
		/* A name and a size in a listing prove nothing about the bytes: before the spool's
		 * copy goes, each destination's must open with the key (header and a frame). */
		for (size_t j = 0; j < n && everywhere; j++) {
			struct cf_error e2 = { 0 };
			if (verify(spool, to[j], m, &e2) != 0) {
				everywhere = 0;
				if (unreadable++ == 0)
					cf_error_set(err, CF_ECORRUPT, "%s: %s does not read back (%s); "
						"the spool keeps it", dst_url(to[j]), m->name, e2.msg);
			}
		}
		if (everywhere && dst_delete(spool->d, m->name, NULL) == 0)
			freed += m->size;
	}
	if (rc == 0 && unreadable) {
		rc = CF_ECORRUPT;
		if (unreadable > 1 && err) {
			char first[sizeof err->msg];
			snprintf(first, sizeof first, "%s", err->msg);
			cf_error_set(err, rc, "%s (and %zu more packs)", first, unreadable - 1);
		}
	}
	for (size_t i = 0; theirs && i < n; i++)
		push_objs_free(&theirs[i]);
	free(theirs);
	push_objs_free(&packs);
	push_objs_free(&mine);
	if (ret_bytes)
		*ret_bytes = freed;
	return rc;
}

/* Opens every destination for the clearing step: all must be there. */
static int clear_spool(struct repo *spool, const char *const *urls, const struct dst_options *opts,
	size_t n, uint64_t *ret_cleared, struct cf_error *err)
{
	struct dst **d = calloc(n ? n : 1, sizeof *d);
	int rc = d ? 0 : cf_error_set(err, CF_ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = dst_open(urls[i], &opts[i], &d[i], err);
	if (rc == 0)
		rc = push_clear(spool, (struct dst *const *)d, n, ret_cleared, err);
	for (size_t i = 0; d && i < n; i++)
		dst_free(d[i]);
	free(d);
	return rc;
}

int push_all(struct repo *spool, const char *const *urls, const struct dst_options *opts,
	const struct forget_policy *const *keep, size_t n, int clear, const struct push_opts *o, struct push_result *res,
	uint64_t *ret_cleared, struct cf_error *clear_err)
{
	int worst = 0;
	if (ret_cleared)
		*ret_cleared = 0;
	for (size_t i = 0; i < n; i++) {
		struct push_result *r = &res[i];
		struct dst *d = NULL;
		memset(r, 0, sizeof *r);
		if ((r->code = dst_open(urls[i], &opts[i], &d, &r->err)) == 0) {
			r->object_lock = dst_object_lock(d);
			snprintf(r->lock_note, sizeof r->lock_note, "%s", dst_lock_note(d) ?
				dst_lock_note(d) : "");
			struct push_names refused = { 0 };
			struct push_opts oi = o ? *o : (struct push_opts){ 0 };
			oi.keep = keep ? keep[i] : NULL;
			oi.refused = &refused;
			r->code = push_run(spool, d, &oi, &r->st, &r->err);
			/* Object Lock that never lapses: what the destination holds after its
			 * retention is what it needs, but what waits for its lock to expire. */
			if (r->code == 0 && dst_object_lock(d))
				r->lock_code = lock_extend_present(spool, d, refused.v, refused.n,
					(int64_t)time(NULL), 0, &r->lock, &r->lock_err);
			push_names_free(&refused);
			/* Listed, then served up to where it stopped. */
			r->reached = r->code == 0 || r->st.sent || r->st.present ||
				r->st.pending;
			dst_free(d);
		}
		if (r->code && (worst == 0 || (r->code == CF_EUNREACH && worst != CF_EUNREACH)))
			worst = r->code;
	}
	if (clear && n && worst == 0)
		clear_spool(spool, urls, opts, n, ret_cleared, clear_err);
	return worst;
}
