/* idset.c: open addressing over 32-byte ids. */
#include "idset.h"

#include <stdlib.h>
#include <string.h>

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
		return -1;
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

void idset_free(struct idset *s)
{
	free(s->k);
	free(s->used);
	memset(s, 0, sizeof *s);
}
