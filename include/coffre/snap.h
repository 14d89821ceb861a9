/* snap.h: snapshots, the small encrypted objects that name a root tree. Writing one is the
 * commit point of a backup.
 *
 * Contract. Functions return 0 or a CF_E* code (include/coffre/error.h), with a message in
 * ${err} when it is not NULL: CF_ENOENT (no such snapshot), CF_ECORRUPT (damaged, forged or
 * malformed: the bytes come from storage and are checked), CF_ENOMEM, or what the destination
 * returned. A struct snap and every string in it are malloc'd and belong to the caller: free
 * with snap_free / snap_list_free; snap_find returns a pointer into the list it was given.
 * Threads: no shared state; a struct repo is used as repo.h allows. */
#ifndef COFFRE_SNAP_H
#define COFFRE_SNAP_H

#include <stddef.h>
#include <stdint.h>

struct cf_error;
struct repo;

struct snap {
	uint8_t id[32];
	char idhex[65];
	int64_t time;		/* seconds since the epoch */
	uint32_t time_ns;
	char *hostname;
	char *username;
	char **paths;
	size_t npaths;
	char **tags;
	size_t ntags;
	uint8_t tree[32];
	int has_parent;
	uint8_t parent[32];
	char *summary;		/* JSON text of the run's summary, or NULL */
	/* Filled by snap_list, not stored: */
	int64_t recorded;	/* when the repository's storage recorded it (its own clock), 0:
				 * unknown */
	int future;		/* dated more than SNAP_FUTURE_SLACK after now or after
				 * ${recorded}: a wrong or forged clock; never "latest" */
};

/* How far ahead of the clocks a snapshot may be dated before it is taken for forged. */
#define SNAP_FUTURE_SLACK 600

/* snap_time_eff(s): the time retention counts: the earlier of the snapshot's own time and the
 * one its storage recorded (a snapshot sent days late keeps its day; one dated ahead by a
 * forged clock counts from when it really arrived). */
int64_t snap_time_eff(const struct snap *s);

/* snap_write(r, s, err): store ${s} (its id is filled in). */
int snap_write(struct repo *r, struct snap *s, struct cf_error *err);
/* snap_load(r, id, ret, err): read one snapshot (checked). */
int snap_load(struct repo *r, const uint8_t id[32], struct snap **ret, struct cf_error *err);
/* snap_parse(text, n, id, ret, err): a snapshot object's plaintext (JSON, ${n} bytes, not
 * NUL-terminated) as stored under ${id}. Returns 0, CF_ECORRUPT or CF_ENOMEM. */
int snap_parse(const void *text, size_t n, const uint8_t id[32], struct snap **ret,
	struct cf_error *err);
/* snap_encode(s, ret_text): the JSON text snap_write stores for ${s} (malloc'd).
 * Returns 0 or CF_ENOMEM. */
int snap_encode(const struct snap *s, char **ret_text);
/* snap_list(r, ret, ret_n, ret_bad, err): every readable snapshot, oldest first; ${ret_bad}
 * counts the damaged ones skipped. Each has ${recorded} and ${future} set. */
int snap_list(struct repo *r, struct snap ***ret, size_t *ret_n, size_t *ret_bad,
	struct cf_error *err);
/* snap_find(list, n, spec, ret, err): "latest" (the newest not dated in the future), a full
 * id or a unique prefix (>= 4). */
int snap_find(struct snap **list, size_t n, const char *spec, struct snap **ret,
	struct cf_error *err);
/* snap_delete(r, s, err): remove a snapshot object (forget). */
int snap_delete(struct repo *r, const struct snap *s, struct cf_error *err);
/* snap_time_str(s, out): RFC 3339 local time. */
void snap_time_str(const struct snap *s, char out[40]);
void snap_free(struct snap *s);
void snap_list_free(struct snap **list, size_t n);

#endif
