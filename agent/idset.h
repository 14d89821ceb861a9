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

/* idset_add(s, id): 0, or -1 when out of memory. */
int idset_add(struct idset *s, const uint8_t *id);
int idset_has(const struct idset *s, const uint8_t *id);
/* idset_del(s, id): 1 if ${id} was there and is removed, 0 otherwise. */
int idset_del(struct idset *s, const uint8_t *id);
void idset_free(struct idset *s);

/* A sorted array of ids, for a set filled once and then only queried: about a third of the
 * memory of an idset (no empty slots, no copy while it grows). Add all, seal, then query. */
struct idvec {
	uint8_t (*v)[32];
	size_t n, cap;
};

/* idvec_add(s, id): 0, or -1 when out of memory. */
int idvec_add(struct idvec *s, const uint8_t *id);
/* idvec_seal(s): sort and drop duplicates; needed before idvec_has. */
void idvec_seal(struct idvec *s);
int idvec_has(const struct idvec *s, const uint8_t *id);
void idvec_free(struct idvec *s);

#endif
