/* pin.h: pins, small sealed objects ("pins/<hash>") that keep a snapshot whatever retention
 * says: forget skips a pinned snapshot on every copy, and push carries pins to the
 * destinations like snapshots. Several pins may name one snapshot; unpinning removes them all.
 *
 * Contract. 0 or a CF_E* code (include/coffre/error.h), with a message in ${err} when it is
 * not NULL: CF_ECORRUPT for a pin whose bytes are damaged or malformed (they come from storage
 * and are checked), CF_ENOMEM, or what the destination returned. Arrays and strings returned
 * are the caller's (pin_list_free). One call at a time per repository handle. */
#ifndef COFFRE_PIN_H
#define COFFRE_PIN_H

#include <stddef.h>
#include <stdint.h>

struct cf_error;
struct repo;

#define PIN_REASON_MAX 200

struct pin {
	uint8_t id[32];		/* the pin object's own id */
	uint8_t snap[32];	/* the snapshot it keeps */
	int64_t time;		/* when it was pinned */
	char reason[PIN_REASON_MAX + 1];
};

/* pin_add(r, snap, reason, err): store a pin for ${snap} (reason may be NULL; cut to
 * PIN_REASON_MAX bytes), under a shared lock so that no forget runs meanwhile. */
int pin_add(struct repo *r, const uint8_t snap[32], const char *reason, struct cf_error *err);
/* pin_remove(r, snap, ret_n, err): remove every pin of ${snap}; ${*ret_n} how many. */
int pin_remove(struct repo *r, const uint8_t snap[32], size_t *ret_n, struct cf_error *err);
/* pin_list(r, ret, ret_n, ret_bad, err): every readable pin; ${ret_bad} counts the others. */
int pin_list(struct repo *r, struct pin **ret, size_t *ret_n, size_t *ret_bad,
	struct cf_error *err);
/* pin_parse(text, n, id, ret, err): a pin object's plaintext (JSON, ${n} bytes). */
int pin_parse(const void *text, size_t n, const uint8_t id[32], struct pin *ret,
	struct cf_error *err);
/* pin_has(v, n, snap): 1 when one of the ${n} pins keeps ${snap}. */
int pin_has(const struct pin *v, size_t n, const uint8_t snap[32]);

#endif
