/* alertq.h: the queue of alerts waiting to be delivered, on disk in the daemon's state
 * folder (STATE_DIR/alerts/), one file an event, so that an alert survives a restart and a
 * network that is down for days. Each entry remembers which channels took it; the others are
 * tried again after a backoff that doubles from 30 s to 1 h.
 *
 * Bounded: at most ${max} entries. A new event that finds the queue full first drops the
 * oldest pending reminders, then the oldest entries; a new reminder or end of a condition
 * drops the pending reminders of the same condition (they say nothing more). The caller is
 * told how many were dropped, and says so.
 *
 * Files are written to a temp name, fsynced and renamed (then the folder fsynced). What is
 * read back is untrusted: alertq_parse is bounded and refuses anything out of shape; an entry
 * that does not parse is removed and counted.
 *
 * Threads: a handle is used by one thread; two processes may share the folder only as the
 * daemon does (one writes, the delivery child updates the entries it was given). */
#ifndef COFFRE_ALERTQ_H
#define COFFRE_ALERTQ_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/alert.h"

struct cf_error;
struct alertq;

#define ALERTQ_DEFAULT_MAX 256
#define ALERTQ_ENTRY_MAX 16384	/* bytes of an entry's file */
#define ALERTQ_BACKOFF_FIRST 30	/* seconds */
#define ALERTQ_BACKOFF_MAX 3600

/* The channels, as bits of alertq_entry.done. */
#define ALERTQ_MAIL 1u
#define ALERTQ_WEBHOOK 2u

struct alertq_entry {
	char name[64];		/* its file in the queue */
	struct alert_event ev;
	uint32_t attempts;	/* deliveries tried and failed on some channel */
	int64_t next_try;	/* not before (seconds since the epoch) */
	unsigned done;		/* ALERTQ_* channels that took it */
	char last_error[512];	/* "": none */
};

/* alertq_open(dir, max, ret, err): the queue in ${dir} (made, mode 700, when missing), of at
 * most ${max} entries (0: ALERTQ_DEFAULT_MAX). Returns 0 or CF_EIO / CF_ENOMEM. */
int alertq_open(const char *dir, size_t max, struct alertq **ret, struct cf_error *err);
void alertq_free(struct alertq *q);

/* alertq_push(q, ev, now, ret_dropped, err): add ${ev}, to be tried at once. ${ret_dropped}
 * (may be NULL) gets how many entries made room or were superseded. Returns 0 or CF_E*. */
int alertq_push(struct alertq *q, const struct alert_event *ev, int64_t now,
	size_t *ret_dropped, struct cf_error *err);

/* alertq_list(q, ret, ret_n, ret_bad, err): every entry, oldest first (malloc'd array, free
 * it). Entries that do not parse are removed; ${ret_bad} (may be NULL) gets their number.
 * Returns 0 or CF_E*. */
int alertq_list(struct alertq *q, struct alertq_entry **ret, size_t *ret_n, size_t *ret_bad,
	struct cf_error *err);

/* alertq_update(q, e, err): write ${e} over its file (it must still be there: an entry
 * removed meanwhile stays removed). Returns 0, CF_ENOENT or CF_E*. */
int alertq_update(struct alertq *q, const struct alertq_entry *e, struct cf_error *err);
/* alertq_remove(q, name, err): the entry is delivered or dropped. 0 (also when already
 * gone) or CF_EIO. */
int alertq_remove(struct alertq *q, const char *name, struct cf_error *err);

/* alertq_failed(e, now, error): count a failed attempt on ${e}: next try after the backoff,
 * ${error} kept. */
void alertq_failed(struct alertq_entry *e, int64_t now, const char *error);
/* alertq_backoff(attempts): seconds to wait after the ${attempts}-th failure in a row
 * (30 s, 60 s, 120 s... at most ALERTQ_BACKOFF_MAX). */
int64_t alertq_backoff(uint32_t attempts);

/* alertq_parse(p, len, ret): an entry's bytes (untrusted) into ${ret} (name left empty).
 * Returns 0 or CF_ECORRUPT. alertq_format(e, ret, err): the bytes of ${e} (malloc'd,
 * NUL-terminated JSON). */
int alertq_parse(const uint8_t *p, size_t len, struct alertq_entry *ret);
int alertq_format(const struct alertq_entry *e, char **ret, struct cf_error *err);

struct cfg_alert;

/* What a delivery round did. */
struct alertq_report {
	size_t delivered;	/* entries every channel took, removed */
	size_t failed;		/* entries some channel refused this round (retried later) */
	size_t pending;		/* entries left in the queue */
	size_t bad;		/* entries removed because they did not parse */
	int64_t next_due;	/* the earliest next try of what is left; 0: nothing left */
	int64_t latency_max;	/* seconds from an event to its delivery, the longest */
	char last_error[512];	/* the last channel's refusal this round; "": none */
};

/* alert_deliver(a, q, now, ret, err) (agent/guard/alert_deliver.c): one round: every entry
 * due by ${now} is sent through each configured channel that has not taken it yet (a channel
 * that failed once in the round is not tried again in it: the entries after count the same
 * failure). Returns 0 (failures are in ${ret}, not errors) or CF_E* when the queue itself
 * fails. Blocks on the network: the daemon runs it in a process of its own. */
int alert_deliver(const struct cfg_alert *a, struct alertq *q, int64_t now,
	struct alertq_report *ret, struct cf_error *err);

#endif
