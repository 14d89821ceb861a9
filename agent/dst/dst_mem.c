/* dst_mem.c: a destination in memory with injectable faults, for tests (see dst_mem.h).
 * Objects sit in an array sorted by name; the handle and its clones share one store under
 * one mutex. */
#include "dst/dst_mem.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/error.h"
#include "dst/dst_internal.h"
#include "base/util.h"

struct mem_obj {
	char *name;
	uint8_t *p;
	size_t n;
};

struct mem_fault {
	unsigned long from, to;	/* call numbers that fail, both included */
	int code;		/* 0: none */
};

struct mem_store {
	pthread_mutex_t mu;
	int refs;
	struct mem_obj *v;
	size_t n, cap;
	unsigned long calls[_DST_MEM_OP_MAX];
	struct mem_fault fail[_DST_MEM_OP_MAX];
	uint64_t keep;		/* reads see at most this many bytes of an object */
	void (*hook)(void *ctx, enum dst_mem_op op, const char *name);
	void *hook_ctx;
};

struct dst_mem {
	struct dst d;	/* first: dst_mem is a dst */
	struct mem_store *st;
};

/* A dst_mem_* call on another kind of destination is a bug in the test that makes it. */
static struct mem_store *store(struct dst *d)
{
	if (d->ops != &dst_ops_mem)
		abort();
	return ((struct dst_mem *)d)->st;
}

/* Index of ${name}, or where it would go (*${found} says which). Under the lock. */
static size_t find(const struct mem_store *st, const char *name, int *found)
{
	size_t lo = 0, hi = st->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(st->v[mid].name, name);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

/* Runs the hook, counts the call and applies the faults. Returns 0 with the lock held, or
 * the injected code with the lock released. */
static int enter(struct dst *d, enum dst_mem_op op, const char *name, struct cf_error *err)
{
	struct mem_store *st = store(d);
	pthread_mutex_lock(&st->mu);
	void (*hook)(void *, enum dst_mem_op, const char *) = st->hook;
	void *hook_ctx = st->hook_ctx;
	pthread_mutex_unlock(&st->mu);
	if (hook)
		hook(hook_ctx, op, name);
	pthread_mutex_lock(&st->mu);
	unsigned long k = ++st->calls[op];
	const struct mem_fault *f = &st->fail[op];
	if (f->code && k >= f->from && k <= f->to) {
		int code = f->code;
		pthread_mutex_unlock(&st->mu);
		return cf_error_set(err, code, "%s: '%s': injected failure", d->url, name);
	}
	return 0;
}

/* Stores ${p} (${n} bytes, taken over) as ${name}, replacing any object of that name. Under
 * the lock. */
static int put_locked(struct mem_store *st, const char *name, uint8_t *p, size_t n,
	struct cf_error *err)
{
	int found;
	size_t i = find(st, name, &found);
	if (found) {
		free(st->v[i].p);
		st->v[i].p = p;
		st->v[i].n = n;
		return 0;
	}
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 16;
		struct mem_obj *v = realloc(st->v, cap * sizeof *v);
		if (!v) {
			free(p);
			return cf_error_set(err, CF_ENOMEM, "out of memory");
		}
		st->v = v;
		st->cap = cap;
	}
	char *copy = strdup(name);
	if (!copy) {
		free(p);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	memmove(&st->v[i + 1], &st->v[i], (st->n - i) * sizeof *st->v);
	st->v[i] = (struct mem_obj){ copy, p, n };
	st->n++;
	return 0;
}

static int mem_put_buf(struct dst *d, const char *name, const void *p, size_t n,
	struct cf_error *err)
{
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	if (n)
		memcpy(copy, p, n);
	int rc = enter(d, DST_MEM_PUT, name, err);
	if (rc) {
		free(copy);
		return rc;
	}
	struct mem_store *st = store(d);
	rc = put_locked(st, name, copy, n, err);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

static int mem_put_file(struct dst *d, const char *name, const char *src, struct cf_error *err)
{
	struct buf b = { 0 };
	int rc = util_read_file(src, (size_t)1 << 32, &b, err);
	if (rc == 0)
		rc = mem_put_buf(d, name, b.p, b.len, err);
	buf_free(&b);
	return rc;
}

static int mem_put_fd(struct dst *d, const char *name, int fd, struct cf_error *err)
{
	struct buf b = { 0 };
	int rc = util_read_fd(fd, name, (size_t)1 << 32, &b, err);
	if (rc == 0)
		rc = mem_put_buf(d, name, b.p, b.len, err);
	buf_free(&b);
	return rc;
}

/* The bytes of ${name} a read sees, under the lock; NULL when absent. */
static const struct mem_obj *lookup(const struct mem_store *st, const char *name, size_t *ret_n)
{
	int found;
	size_t i = find(st, name, &found);
	if (!found)
		return NULL;
	*ret_n = (uint64_t)st->v[i].n > st->keep ? (size_t)st->keep : st->v[i].n;
	return &st->v[i];
}

static int mem_get(struct dst *d, const char *name, uint64_t max, struct buf *ret,
	struct cf_error *err)
{
	int rc = enter(d, DST_MEM_GET, name, err);
	if (rc)
		return rc;
	struct mem_store *st = store(d);
	size_t n;
	const struct mem_obj *o = lookup(st, name, &n);
	struct buf b = { 0 };
	if (!o)
		rc = cf_error_set(err, CF_ENOENT, "%s: '%s' not found", d->url, name);
	else if ((uint64_t)n > max)
		rc = cf_error_set(err, CF_ECORRUPT, "%s: '%s' is too large (%zu bytes)", d->url, name,
			n);
	else if (buf_reserve(&b, n + 1) || buf_append(&b, o->p, n))
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
	pthread_mutex_unlock(&st->mu);
	if (rc)
		buf_free(&b);
	else
		*ret = b;
	return rc;
}

static int mem_get_range(struct dst *d, const char *name, uint64_t off, size_t len, void *out,
	struct cf_error *err)
{
	int rc = enter(d, DST_MEM_GET_RANGE, name, err);
	if (rc)
		return rc;
	struct mem_store *st = store(d);
	size_t n;
	const struct mem_obj *o = lookup(st, name, &n);
	if (!o)
		rc = cf_error_set(err, CF_ENOENT, "%s: '%s' not found", d->url, name);
	else if (off > n || len > n - off)
		rc = cf_error_set(err, CF_ECORRUPT, "%s: '%s' is shorter than expected", d->url,
			name);
	else if (len)
		memcpy(out, o->p + off, len);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

static int mem_stat(struct dst *d, const char *name, uint64_t *ret_size, struct cf_error *err)
{
	int rc = enter(d, DST_MEM_STAT, name, err);
	if (rc)
		return rc;
	struct mem_store *st = store(d);
	int found;
	size_t i = find(st, name, &found);
	if (!found)
		rc = CF_ENOENT;
	else if (ret_size)
		*ret_size = st->v[i].n;
	pthread_mutex_unlock(&st->mu);
	return rc;
}

/* The names and sizes are copied under the lock and given to ${fn} outside it, so that ${fn}
 * may use the destination. */
static int mem_list(struct dst *d, const char *prefix,
	int (*fn)(void *ctx, const char *name, uint64_t size), void *ctx, struct cf_error *err)
{
	int rc = enter(d, DST_MEM_LIST, prefix, err);
	if (rc)
		return rc;
	struct mem_store *st = store(d);
	size_t pl = strlen(prefix), k = 0;
	struct mem_obj *v = calloc(st->n ? st->n : 1, sizeof *v);
	for (size_t i = 0; v && i < st->n; i++) {
		if (strncmp(st->v[i].name, prefix, pl) != 0)
			continue;
		if (!(v[k].name = strdup(st->v[i].name))) {
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
			break;
		}
		v[k++].n = st->v[i].n;
	}
	if (!v)
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
	pthread_mutex_unlock(&st->mu);
	for (size_t i = 0; rc == 0 && i < k; i++)
		rc = fn(ctx, v[i].name, v[i].n);
	for (size_t i = 0; i < k; i++)
		free(v[i].name);
	free(v);
	return rc;
}

static int mem_del(struct dst *d, const char *name, struct cf_error *err)
{
	int rc = enter(d, DST_MEM_DEL, name, err);
	if (rc)
		return rc;
	struct mem_store *st = store(d);
	int found;
	size_t i = find(st, name, &found);
	if (found) {
		free(st->v[i].name);
		free(st->v[i].p);
		memmove(&st->v[i], &st->v[i + 1], (st->n - i - 1) * sizeof *st->v);
		st->n--;
	} else {
		rc = CF_ENOENT;
	}
	pthread_mutex_unlock(&st->mu);
	return rc;
}

static void store_unref(struct mem_store *st)
{
	if (!st)
		return;
	pthread_mutex_lock(&st->mu);
	int last = --st->refs == 0;
	pthread_mutex_unlock(&st->mu);
	if (!last)
		return;
	for (size_t i = 0; i < st->n; i++) {
		free(st->v[i].name);
		free(st->v[i].p);
	}
	free(st->v);
	pthread_mutex_destroy(&st->mu);
	free(st);
}

static void mem_free(struct dst *d)
{
	store_unref(store(d));
	free(d->url);
	free(d);
}

static int handle(struct mem_store *st, struct dst **ret, struct cf_error *err)
{
	struct dst_mem *m = calloc(1, sizeof *m);
	if (!m || !(m->d.url = strdup("mem:"))) {
		free(m);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	m->d.ops = &dst_ops_mem;
	m->d.lock_note = "memory: no object lock";
	m->st = st;
	pthread_mutex_lock(&st->mu);
	st->refs++;
	pthread_mutex_unlock(&st->mu);
	*ret = &m->d;
	return 0;
}

static int mem_clone(struct dst *d, struct dst **ret, struct cf_error *err)
{
	return handle(store(d), ret, err);
}

const struct dst_ops dst_ops_mem = {
	.name = "mem",
	.put_file = mem_put_file,
	.put_fd = mem_put_fd,
	.put_buf = mem_put_buf,
	.get = mem_get,
	.get_range = mem_get_range,
	.stat = mem_stat,
	.list = mem_list,
	.del = mem_del,
	.free = mem_free,
	.clone = mem_clone,
};

int dst_mem_open(struct dst **ret, struct cf_error *err)
{
	struct mem_store *st = calloc(1, sizeof *st);
	if (!st)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	if (pthread_mutex_init(&st->mu, NULL) != 0) {
		free(st);
		return cf_error_set(err, CF_EIO, "cannot create a mutex");
	}
	st->keep = UINT64_MAX;
	int rc = handle(st, ret, err);
	if (rc) {
		pthread_mutex_destroy(&st->mu);
		free(st);
	}
	return rc;
}

void dst_mem_fail(struct dst *d, enum dst_mem_op op, unsigned long nth, unsigned long times,
	int code)
{
	struct mem_store *st = store(d);
	if ((unsigned)op >= _DST_MEM_OP_MAX)
		return;
	pthread_mutex_lock(&st->mu);
	struct mem_fault *f = &st->fail[op];
	if (nth == 0 || code == 0) {
		*f = (struct mem_fault){ 0 };
	} else {
		f->from = st->calls[op] + nth;
		f->to = times == 0 || times - 1 > ULONG_MAX - f->from ? ULONG_MAX
								       : f->from + times - 1;
		f->code = code;
	}
	pthread_mutex_unlock(&st->mu);
}

void dst_mem_short_reads(struct dst *d, uint64_t keep)
{
	struct mem_store *st = store(d);
	pthread_mutex_lock(&st->mu);
	st->keep = keep;
	pthread_mutex_unlock(&st->mu);
}

void dst_mem_on_call(struct dst *d, void (*fn)(void *ctx, enum dst_mem_op op, const char *name),
	void *ctx)
{
	struct mem_store *st = store(d);
	pthread_mutex_lock(&st->mu);
	st->hook = fn;
	st->hook_ctx = ctx;
	pthread_mutex_unlock(&st->mu);
}

unsigned long dst_mem_calls(struct dst *d, enum dst_mem_op op)
{
	struct mem_store *st = store(d);
	if ((unsigned)op >= _DST_MEM_OP_MAX)
		return 0;
	pthread_mutex_lock(&st->mu);
	unsigned long n = st->calls[op];
	pthread_mutex_unlock(&st->mu);
	return n;
}
