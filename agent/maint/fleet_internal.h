/* fleet_internal.h: what the fleet view's files share (fleet.c, fleet_status.c). */
#ifndef COFFRE_FLEET_INTERNAL_H
#define COFFRE_FLEET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "coffre/fleet.h"

/* fleet_shop_id_ok(s): letters, digits, '-', '_', '.', 1 to 64 of them, not "." or "..". */
int fleet_shop_id_ok(const char *s);

/* fleet_status_apply(shop, payload, stored): fills ${shop} from the verified payload text of
 * its status object (a JSON object, hostile still: every field checked), stored by the server
 * at ${stored}: no date the shop gives may be later than that. Returns 0, or -1 with a reason
 * in ${shop}->why when the payload is not a status of ${shop}->id. *${ret_seq} its seq. */
int fleet_status_apply(struct fleet_shop *shop, const char *payload, int64_t stored,
	uint64_t *ret_seq);

/* fleet_judge(shop, now, lock, escrow): the problems of ${shop} at ${now} (its fields filled),
 * ${lock}: a locked destination is required; ${escrow}: the id of the federation's escrow
 * key (repo_escrow_key_id), which its repository must be sealed to, or NULL. Adds to
 * shop->problems. */
void fleet_judge(struct fleet_shop *shop, int64_t now, int lock, const char *escrow);

#endif
