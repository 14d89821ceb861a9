/* blob_memo.c: an open-addressing table of blob ids (keyed hashes: their first bytes index
 * it directly) to malloc'd plaintexts, under one mutex. */
#include "store/blob_memo.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/error.h"
#include "base/util.h"

struct memo_slot {
	uint8_t id[32];
	uint8_t *p;		/* NULL: a free slot */
	size_t n;
};

struct blob_memo {
	pthread_mutex_t mu;
	struct memo_slot *v;
	size_t cap, used;	/* cap: a power of two, at least twice used */
	size_t bytes, max_bytes;
};

struct blob_memo *blob_memo_new(size_t max_bytes)
{
	struct blob_memo *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	pthread_mutex_init(&m->mu, NULL);
	m->max_bytes = max_bytes;
	return m;
}

static size_t slot_of(const struct memo_slot *v, size_t cap, const uint8_t id[32])
{
	uint64_t h;
	memcpy(&h, id, sizeof h);
	size_t i = (size_t)h & (cap - 1);
	while (v[i].p && memcmp(v[i].id, id, 32) != 0)
		i = (i + 1) & (cap - 1);
	return i;
}

int blob_memo_get(struct blob_memo *m, const uint8_t id[32], struct buf *ret)
{
	int rc = 0;
	pthread_mutex_lock(&m->mu);
	if (m->cap) {
		const struct memo_slot *s = &m->v[slot_of(m->v, m->cap, id)];
		if (s->p) {
			ret->len = 0;
			rc = buf_reserve(ret, s->n ? s->n : 1) ? CF_ENOMEM : 1;
			if (rc == 1) {
				memcpy(ret->p, s->p, s->n);
				ret->len = s->n;
			}
		}
	}
	pthread_mutex_unlock(&m->mu);
	return rc;
}

static int grow(struct blob_memo *m)
{
	size_t cap = m->cap ? 2 * m->cap : 1024;
	struct memo_slot *v = calloc(cap, sizeof *v);
	if (!v)
		return -1;
	for (size_t i = 0; i < m->cap; i++)
		if (m->v[i].p)
			v[slot_of(v, cap, m->v[i].id)] = m->v[i];
	free(m->v);
	m->v = v;
	m->cap = cap;
	return 0;
}

void blob_memo_put(struct blob_memo *m, const uint8_t id[32], const void *p, size_t n)
{
	pthread_mutex_lock(&m->mu);
	/* Out of memory here only means a node fetched again later. */
	if (n <= m->max_bytes - m->bytes && (2 * (m->used + 1) <= m->cap || grow(m) == 0)) {
		struct memo_slot *s = &m->v[slot_of(m->v, m->cap, id)];
		if (!s->p && (s->p = malloc(n ? n : 1))) {
			memcpy(s->id, id, 32);
			memcpy(s->p, p, n);
			s->n = n;
			m->used++;
			m->bytes += n;
		}
	}
	pthread_mutex_unlock(&m->mu);
}

void blob_memo_free(struct blob_memo *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->cap; i++)
		free(m->v[i].p);
	free(m->v);
	pthread_mutex_destroy(&m->mu);
	free(m);
}
