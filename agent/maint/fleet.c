/* fleet.c: the fleet view. Reads the federation's key and its signed registry, lists the
 * status objects in the bucket (one listing, paged), fetches only those whose ETag, size or
 * Last-Modified changed since the last run (the cache, FEDE/fleet-cache.json, keeps each
 * shop's last verified payload, the highest seq seen and when the server first stored it),
 * verifies each against its shop's key, and judges every shop.
 *
 * A replayed object is caught two ways: its seq is below the highest seen (rollback), and
 * one re-put with the same seq does not make the shop look alive, since its freshness is when
 * the server first stored that seq. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "coffre/dst.h"
#include "coffre/error.h"
#include "coffre/fleet.h"
#include "coffre/repo.h"
#include "coffre/signdoc.h"
#include "base/util.h"
#include "maint/fleet_internal.h"

#define REGISTRY_SHOPS_MAX 100000
#define CACHE_MAX (256u << 20)

struct reg_shop {
	uint8_t pk[SIGNDOC_PK_BYTES];
	int lock;	/* the registry asks for a locked destination */
};

struct run {
	const struct fleet_options *o;
	struct dst *dst;
	json_t *index;		/* shop id -> its place in ${shops} */
	struct reg_shop *reg;	/* per registry shop */
	size_t nreg;
	struct fleet_shop *shops;
	size_t nshops, cap;
	json_t *cache;		/* id -> entry, as read */
	json_t *next;		/* id -> entry, as written back */
	struct fleet_report *rep;
};

static struct fleet_shop *add_shop(struct run *r, const char *id)
{
	if (r->nshops == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct fleet_shop *p = realloc(r->shops, cap * sizeof *p);
		if (!p)
			return NULL;
		r->shops = p, r->cap = cap;
	}
	struct fleet_shop *s = &r->shops[r->nshops++];
	memset(s, 0, sizeof *s);
	snprintf(s->id, sizeof s->id, "%s", id);
	return s;
}

static int read_pub(const char *dir, uint8_t pk[SIGNDOC_PK_BYTES], struct cf_error *err)
{
	char *path = util_path("%s/federation.pub", dir);
	char *line = path ? util_read_first_line(path) : NULL;
	int rc = 0;
	if (!line || signdoc_key_parse(line, pk, SIGNDOC_PK_BYTES))
		rc = cf_error_set(err, line ? CF_ECORRUPT : CF_EIO,
			"cannot read the federation key '%s'", path ? path : dir);
	free(line);
	free(path);
	return rc;
}

/* FEDE/escrow.pub: the id of the federation's escrow key in ${ret}, "" when the folder has
 * none (no shop is then judged on it). */
static int read_escrow_pub(const char *dir, char ret[REPO_FINGERPRINT_TEXT],
	struct cf_error *err)
{
	char *path = util_path("%s/escrow.pub", dir);
	char *line = path ? util_read_first_line(path) : NULL;
	int rc = 0;
	ret[0] = 0;
	if (!path)
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
	else if (line && repo_escrow_key_id(line, ret))
		rc = cf_error_set(err, CF_ECORRUPT, "'%s' is not an escrow public key", path);
	free(line);
	free(path);
	return rc;
}

static int read_registry(struct run *r, const uint8_t fpk[SIGNDOC_PK_BYTES],
	struct cf_error *err)
{
	char *path = util_path("%s/registry.json", r->o->dir);
	struct buf b = { 0 };
	uint8_t *payload = NULL;
	size_t plen;
	json_t *o = NULL;
	int rc = path ? util_read_file(path, SIGNDOC_MAX, &b, err) : CF_ENOMEM;
	if (rc == 0 && (rc = signdoc_open("registry", fpk, (const char *)b.p, b.len, &payload,
				&plen, err)))
		cf_error_set(err, CF_ECORRUPT, "'%s' is not a registry signed by the federation: %s",
			path, err->msg);
	if (rc)
		goto out;
	o = json_loadb((const char *)payload, plen, JSON_REJECT_DUPLICATES, NULL);
	json_t *shops = json_object_get(o, "shops");
	if (!json_is_array(shops) || json_array_size(shops) > REGISTRY_SHOPS_MAX) {
		rc = cf_error_set(err, CF_ECORRUPT, "'%s': no list of shops", path);
		goto out;
	}
	r->reg = calloc(json_array_size(shops) + 1, sizeof *r->reg);
	r->index = json_object();
	if (!r->reg || !r->index) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	size_t i;
	json_t *e;
	json_array_foreach(shops, i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));
		const char *name = json_string_value(json_object_get(e, "name"));
		const char *pk = json_string_value(json_object_get(e, "status_pk"));
		json_t *lock = json_object_get(e, "lock");
		if (!id || !fleet_shop_id_ok(id) || !pk ||
		    signdoc_key_parse(pk, r->reg[r->nreg].pk, SIGNDOC_PK_BYTES) ||
		    json_object_get(r->index, id)) {
			rc = cf_error_set(err, CF_ECORRUPT, "'%s': shop %zu is malformed or twice",
				path, i + 1);
			goto out;
		}
		r->reg[r->nreg].lock = lock && !json_is_null(lock) && !json_is_false(lock);
		struct fleet_shop *s = add_shop(r, id);
		if (!s || json_object_set_new(r->index, id, json_integer((json_int_t)r->nreg))) {
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
			goto out;
		}
		snprintf(s->name, sizeof s->name, "%s", name ? name : "");
		s->problems = FLEET_NEVER;	/* until its object is listed */
		r->nreg++;
	}
out:
	json_decref(o);
	free(payload);
	buf_free(&b);
	free(path);
	return rc;
}

/* The cache as the last run left it; a missing or unreadable one is an empty one (every
 * object is then fetched; only rollbacks before it go unseen). */
static json_t *cache_load(const char *path)
{
	struct buf b = { 0 };
	struct cf_error err = { 0 };
	json_t *objs = NULL;
	if (util_read_file(path, CACHE_MAX, &b, &err) == 0) {
		json_t *o = json_loadb((const char *)b.p, b.len, JSON_REJECT_DUPLICATES, NULL);
		objs = json_incref(json_object_get(o, "objects"));
		json_decref(o);
	}
	buf_free(&b);
	if (!json_is_object(objs)) {
		json_decref(objs);
		objs = json_object();
	}
	return objs;
}

static int cache_save(struct run *r, const char *path, struct cf_error *err)
{
	json_t *o = json_pack("{s:i, s:O}", "v", 1, "objects", r->next);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	int rc = text ? util_write_atomic(path, text, strlen(text), 0, err) :
			cf_error_set(err, CF_ENOMEM, "out of memory");
	free(text);
	json_decref(o);
	return rc;
}

static int64_t jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* The shop as the cache's last verified payload has it (nothing when there is none). */
static void from_cache(struct fleet_shop *s, json_t *c)
{
	const char *p = json_string_value(json_object_get(c, "payload"));
	uint64_t seq;
	if (!p)
		return;
	struct fleet_shop t = *s;
	if (fleet_status_apply(&t, p, jint(c, "first_stored"), &seq) == 0) {
		t.stored = jint(c, "first_stored");
		t.seq = seq;
		*s = t;
	}
}

/* An object to fetch: what the listing said of it, then what its GET gave. */
struct want {
	size_t k;		/* its shop in the registry */
	char *name;
	uint64_t size;
	int64_t mtime;
	struct buf body;
	int rc;			/* of its GET; CF_ECORRUPT: past the bound */
	struct cf_error err;
};

/* Verifies and applies the fetched object ${w} of ${s}; the new cache entry in ${ne}. */
static void apply(struct run *r, struct fleet_shop *s, struct want *w, json_t *old, json_t *ne)
{
	uint8_t *payload = NULL;
	size_t plen;
	struct cf_error verr = { 0 };
	const char *why = NULL;
	if (w->size > FLEET_STATUS_MAX || w->rc == CF_ECORRUPT)
		why = "larger than 64 KiB";
	else if (signdoc_open("status", r->reg[w->k].pk, (const char *)w->body.p, w->body.len,
			 &payload, &plen, &verr))
		why = "not signed by the shop's key";
	uint64_t max_seq = (uint64_t)jint(old, "max_seq"), seq = 0;
	int64_t first = jint(old, "first_stored");
	struct fleet_shop t = *s;
	if (!why && fleet_status_apply(&t, (const char *)payload, w->mtime, &seq))
		why = t.why;
	if (why) {
		from_cache(s, old);
		s->problems |= FLEET_BAD_SIG;
		snprintf(s->why, sizeof s->why, "%s", why);
		json_object_set_new(ne, "verdict", json_string("bad"));
		json_object_set_new(ne, "why", json_string(s->why));
	} else if (seq < max_seq) {
		from_cache(s, old);
		s->problems |= FLEET_ROLLBACK;
		snprintf(s->why, sizeof s->why, "seq %llu after %llu", (unsigned long long)seq,
			(unsigned long long)max_seq);
		json_object_set_new(ne, "verdict", json_string("rollback"));
		json_object_set_new(ne, "why", json_string(s->why));
	} else {
		if (seq > max_seq || !first)
			first = w->mtime > 0 ? w->mtime : r->rep->now;
		max_seq = seq;
		*s = t;
		s->seq = seq, s->stored = first;
		json_object_set_new(ne, "verdict", json_string("ok"));
		json_object_set_new(ne, "payload", json_string((const char *)payload));
	}
	/* A refused object leaves the last verified payload in the cache. */
	if (!json_object_get(ne, "payload") && json_object_get(old, "payload"))
		json_object_set(ne, "payload", json_object_get(old, "payload"));
	json_object_set_new(ne, "max_seq", json_integer((json_int_t)max_seq));
	json_object_set_new(ne, "first_stored", json_integer((json_int_t)first));
	free(payload);
}

struct listed {
	struct run *r;
	int rc;
	struct cf_error *err;
	struct want *wants;	/* the objects to fetch */
	size_t nwants, cap;
};

static int on_object(void *ctx, const struct dst_entry *e)
{
	struct listed *l = ctx;
	struct run *r = l->r;
	r->rep->listed++;
	const char *base = e->name + strlen("status/");
	size_t n = strlen(base);
	if (n <= 5 || n > 64 + 5 || strcmp(base + n - 5, ".json"))
		return 0;	/* not a status object */
	char id[70];
	memcpy(id, base, n - 5);
	id[n - 5] = 0;
	if (!fleet_shop_id_ok(id))
		return 0;
	json_t *ix = json_object_get(r->index, id);
	if (!ix) {
		struct fleet_shop *s = add_shop(r, id);
		if (!s)
			return l->rc = cf_error_set(l->err, CF_ENOMEM, "out of memory");
		s->problems = FLEET_UNKNOWN;
		s->stored = e->mtime > 0 ? e->mtime : 0;
		return 0;
	}
	size_t k = (size_t)json_integer_value(ix);
	struct fleet_shop *s = &r->shops[k];
	s->problems &= ~(unsigned)FLEET_NEVER;
	json_t *old = json_object_get(r->cache, id);
	json_t *ne = json_pack("{s:s, s:I, s:I}", "etag", e->etag, "size", (json_int_t)e->size,
		"mtime", (json_int_t)e->mtime);
	if (!ne || json_object_set_new(r->next, id, ne))
		return l->rc = cf_error_set(l->err, CF_ENOMEM, "out of memory");
	int same = old && e->mtime >= 0 && !strcmp(jstr(old, "etag"), e->etag) &&
		jint(old, "size") == (int64_t)e->size && jint(old, "mtime") == e->mtime;
	if (!same) {
		if (l->nwants == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 256;
			struct want *p = realloc(l->wants, cap * sizeof *p);
			if (!p)
				return l->rc = cf_error_set(l->err, CF_ENOMEM, "out of memory");
			l->wants = p, l->cap = cap;
		}
		struct want *w = &l->wants[l->nwants];
		*w = (struct want){ .k = k, .name = strdup(e->name), .size = e->size,
			.mtime = e->mtime };
		if (!w->name)
			return l->rc = cf_error_set(l->err, CF_ENOMEM, "out of memory");
		l->nwants++;
		return 0;
	}
	/* Unchanged: the cache's verdict stands. */
	const char *verdict = jstr(old, "verdict");
	json_object_update_missing(ne, old);
	from_cache(s, old);
	if (!strcmp(verdict, "bad"))
		s->problems |= FLEET_BAD_SIG;
	else if (!strcmp(verdict, "rollback"))
		s->problems |= FLEET_ROLLBACK;
	if (strcmp(verdict, "ok"))
		snprintf(s->why, sizeof s->why, "%s", jstr(old, "why"));
	return 0;
}

/* The GETs of the objects that changed, by up to FETCH_THREADS connections at once (each a
 * clone of the bucket's handle): a cold run over thousands of shops is bound by round trips,
 * not by bandwidth. */
#define FETCH_THREADS 8

struct pool {
	struct dst *dst;	/* this worker's handle */
	struct want *wants;
	size_t n;
	atomic_size_t *next;
};

static void *fetch_worker(void *arg)
{
	struct pool *p = arg;
	for (;;) {
		size_t i = atomic_fetch_add(p->next, 1);
		if (i >= p->n)
			break;
		struct want *w = &p->wants[i];
		if (w->size <= FLEET_STATUS_MAX)
			w->rc = dst_get(p->dst, w->name, FLEET_STATUS_MAX, &w->body, &w->err);
	}
	return NULL;
}

static int fetch_all(struct run *r, struct want *wants, size_t n, struct cf_error *err)
{
	struct pool pools[FETCH_THREADS];
	pthread_t th[FETCH_THREADS];
	atomic_size_t next = 0;
	size_t nt = n < FETCH_THREADS ? n : FETCH_THREADS, started = 0;
	for (size_t t = 0; t < nt; t++) {
		pools[t] = (struct pool){ r->dst, wants, n, &next };
		if (t && dst_clone(r->dst, &pools[t].dst, err))
			break;
		if (pthread_create(&th[t], NULL, fetch_worker, &pools[t])) {
			if (t)
				dst_free(pools[t].dst);
			break;
		}
		started++;
	}
	if (!started && n)
		fetch_worker(&pools[0]);	/* no thread: here, one at a time */
	for (size_t t = 0; t < started; t++) {
		pthread_join(th[t], NULL);
		if (t)
			dst_free(pools[t].dst);
	}
	for (size_t i = 0; i < n; i++) {
		if (wants[i].rc && wants[i].rc != CF_ECORRUPT) {
			*err = wants[i].err;
			return wants[i].rc;
		}
		if (wants[i].size <= FLEET_STATUS_MAX)
			r->rep->fetched++;
	}
	return 0;
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int fleet_run(const struct fleet_options *o, struct fleet_report *ret, struct cf_error *err)
{
	struct fleet_report rep = { .now = o->now ? o->now : (int64_t)time(NULL) };
	struct run r = { .o = o, .rep = &rep };
	uint8_t fpk[SIGNDOC_PK_BYTES];
	char escrow[REPO_FINGERPRINT_TEXT];
	double t0 = mono();
	char *keys = o->keys_file ? strdup(o->keys_file) :
				    util_path("%s/fleet-s3.keys", o->dir);
	char *cache = o->cache_file ? strdup(o->cache_file) :
				      util_path("%s/fleet-cache.json", o->dir);
	int rc = keys && cache ? 0 : cf_error_set(err, CF_ENOMEM, "out of memory");
	if (rc || (rc = read_pub(o->dir, fpk, err)) || (rc = read_registry(&r, fpk, err)) ||
	    (rc = read_escrow_pub(o->dir, escrow, err)))
		goto out;
	r.cache = cache_load(cache);
	r.next = json_object();
	struct dst_options dopt = { .s3_keys_file = keys };
	if (!r.next)
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
	else if (strcmp(dst_url_kind(o->bucket) ? dst_url_kind(o->bucket) : "", "s3"))
		rc = cf_error_set(err, CF_EUSAGE, "'%s' is not an s3:// address", o->bucket);
	else
		rc = dst_open(o->bucket, &dopt, &r.dst, err);
	if (rc)
		goto out;
	struct listed l = { &r, 0, err, NULL, 0, 0 };
	rc = dst_list_meta(r.dst, "status/", on_object, &l, err);
	if (rc == 0)
		rc = fetch_all(&r, l.wants, l.nwants, err);
	for (size_t i = 0; i < l.nwants; i++) {
		struct want *w = &l.wants[i];
		const char *id = r.shops[w->k].id;
		if (rc == 0)
			apply(&r, &r.shops[w->k], w, json_object_get(r.cache, id),
				json_object_get(r.next, id));
		free(w->name);
		buf_free(&w->body);
	}
	free(l.wants);
	if (rc)
		goto out;
	/* Shops whose object is gone keep what the cache knew of them (a later rollback is
	 * still caught). */
	const char *id;
	json_t *v;
	json_object_foreach(r.cache, id, v)
		if (!json_object_get(r.next, id) && json_object_get(r.index, id))
			json_object_set(r.next, id, v);
	for (size_t i = 0; i < r.nshops; i++) {
		struct fleet_shop *s = &r.shops[i];
		fleet_judge(s, rep.now, o->require_lock || (i < r.nreg && r.reg[i].lock),
			escrow[0] ? escrow : NULL);
		if (s->problems)
			rep.attention++;
	}
	rc = cache_save(&r, cache, err);
	if (rc)
		goto out;
	dst_traffic(r.dst, &rep.requests, &rep.bytes_in);
	rep.seconds = mono() - t0;
	rep.shops = r.shops, rep.nshops = r.nshops;
	r.shops = NULL;
	*ret = rep;
out:
	dst_free(r.dst);
	json_decref(r.index);
	json_decref(r.cache);
	json_decref(r.next);
	free(r.reg);
	free(r.shops);
	free(keys);
	free(cache);
	return rc;
}

void fleet_report_release(struct fleet_report *r)
{
	if (!r)
		return;
	free(r->shops);
	memset(r, 0, sizeof *r);
}
