/* idset.h: a set of 32-byte ids (keyed hashes, so the first bytes index it directly). */
#ifndef COFFRE_IDSET_H
#define COFFRE_IDSET_H

#include <stddef.h>
#include <stdint.h>

struct idset {
	uint8_t (*k)[32];
	uint8_t *used;
	size_t n, cap;
};

/* idset_add(s, id): 0, or CF_ENOMEM (the set is unchanged). */
int idset_add(struct idset *s, const uint8_t *id);
int idset_has(const struct idset *s, const uint8_t *id);
/* idset_del(s, id): 1 if ${id} was there and is removed, 0 otherwise. */
int idset_del(struct idset *s, const uint8_t *id);
void idset_free(struct idset *s);

#endif
