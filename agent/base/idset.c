/* idset.c: open addressing over 32-byte ids. */
#include "base/idset.h"

#include <stdlib.h>
#include <string.h>

#include "coffre/error.h"

static uint64_t idhash(const uint8_t *id)
{
	uint64_t h;
	memcpy(&h, id, 8);
	return h;
}

static int grow(struct idset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 4096;
	struct idset t = { calloc(cap, 32), calloc(cap, 1), 0, cap };
	if (!t.k || !t.used) {
		free(t.k);
		free(t.used);
		return -1;
	}
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->used[i])
			continue;
		size_t j = idhash(s->k[i]) & (cap - 1);
		while (t.used[j])
			j = (j + 1) & (cap - 1);
		memcpy(t.k[j], s->k[i], 32);
		t.used[j] = 1;
		t.n++;
	}
	free(s->k);
	free(s->used);
	*s = t;
	return 0;
}

int idset_has(const struct idset *s, const uint8_t *id)
{
	if (!s->cap)
		return 0;
	size_t j = idhash(id) & (s->cap - 1);
	while (s->used[j]) {
		if (memcmp(s->k[j], id, 32) == 0)
			return 1;
		j = (j + 1) & (s->cap - 1);
	}
	return 0;
}

int idset_add(struct idset *s, const uint8_t *id)
{
	if ((s->n + 1) * 2 > s->cap && grow(s))
		return CF_ENOMEM;
	size_t j = idhash(id) & (s->cap - 1);
	while (s->used[j]) {
		if (memcmp(s->k[j], id, 32) == 0)
			return 0;
		j = (j + 1) & (s->cap - 1);
	}
	memcpy(s->k[j], id, 32);
	s->used[j] = 1;
	s->n++;
	return 0;
}

int idset_del(struct idset *s, const uint8_t *id)
{
	if (!s->cap)
		return 0;
	size_t m = s->cap - 1, i = idhash(id) & m;
	while (s->used[i] && memcmp(s->k[i], id, 32) != 0)
		i = (i + 1) & m;
	if (!s->used[i])
		return 0;
	/* Backward shift: move up every later entry of the run that may sit at the hole, so
	 * that no lookup stops early at it. */
	for (;;) {
		s->used[i] = 0;
		size_t k = i;
		for (;;) {
			k = (k + 1) & m;
			if (!s->used[k]) {
				s->n--;
				return 1;
			}
			size_t h = idhash(s->k[k]) & m;
			int stays = i <= k ? (i < h && h <= k) : (i < h || h <= k);
			if (!stays)
				break;
		}
		memcpy(s->k[i], s->k[k], 32);
		s->used[i] = 1;
		i = k;
	}
}

void idset_free(struct idset *s)
{
	free(s->k);
	free(s->used);
	memset(s, 0, sizeof *s);
}
