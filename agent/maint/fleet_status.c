/* fleet_status.c: reading one shop's status payload (hostile even when signed: a shop's key
 * may be stolen) and judging what needs attention. */
#include <stdio.h>
#include <string.h>

#include "coffre/repo.h"
#include "maint/fleet_internal.h"

#define DESTS_MAX 64
#define ALERTS_MAX 32
#define ESCROW_KEYS_MAX 8

static const char *const problem_names[_FLEET_PROBLEMS] = { "never", "silent", "no-backup",
	"no-restore", "not-locked", "lock-ending", "alarm", "alerts", "bad-signature",
	"rollback", "unknown-shop", "failing", "escrow" };

const char *fleet_problem_name(unsigned bit)
{
	for (int i = 0; i < _FLEET_PROBLEMS; i++)
		if (bit == 1u << i)
			return problem_names[i];
	return NULL;
}

int fleet_shop_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64 || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			    c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return 1;
}

/* A date: an integer in [0, stored] (later ones are cut to ${stored}: the shop cannot have
 * done anything after the server stored what it wrote), or null (0). -1: not a date. */
static int get_time(json_t *o, const char *key, int64_t stored, int64_t *ret)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v)) {
		*ret = 0;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	int64_t t = (int64_t)json_integer_value(v);
	*ret = stored > 0 && t > stored ? stored : t;
	return 0;
}

/* ${s} copied into ${out} as printable ASCII only (others become '?'). */
static void copy_clean(char *out, size_t n, const char *s)
{
	size_t i = 0;
	for (; s && s[i] && i + 1 < n; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[i] = 0;
}

static int bad(struct fleet_shop *shop, const char *why)
{
	snprintf(shop->why, sizeof shop->why, "%s", why);
	return -1;
}

static int read_dests(struct fleet_shop *shop, json_t *a, int64_t stored)
{
	if (!json_is_array(a) || json_array_size(a) > DESTS_MAX)
		return bad(shop, "destinations: not a list of at most 64");
	shop->ndests = json_array_size(a);
	shop->lock_until = 0;
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e) {
		const char *st = json_string_value(json_object_get(e, "state"));
		int64_t lu, lc;
		if (!json_is_object(e) || !st || !json_is_string(json_object_get(e, "name")) ||
		    get_time(e, "last_complete", stored, &lc) ||
		    get_time(e, "lock_until", 0, &lu))
			return bad(shop, "destinations: an entry is malformed");
		if (strcmp(st, "ok") && strcmp(st, "behind") && strcmp(st, "failing"))
			return bad(shop, "destinations: an unknown state");
		if (!strcmp(st, "failing"))
			shop->problems |= FLEET_FAILING;
		/* The lock that protects the shop: its longest. */
		if (lu > shop->lock_until)
			shop->lock_until = lu;
	}
	return 0;
}

static int read_alerts(struct fleet_shop *shop, json_t *a)
{
	if (!json_is_array(a) || json_array_size(a) > ALERTS_MAX)
		return bad(shop, "alerts: not a list of at most 32");
	shop->nalerts = json_array_size(a);
	shop->alerts[0] = 0;
	size_t i, len = 0;
	json_t *e;
	json_array_foreach(a, i, e) {
		const char *c = json_string_value(json_object_get(e, "condition"));
		if (!json_is_object(e) || !c || !json_is_integer(json_object_get(e, "since")))
			return bad(shop, "alerts: an entry is malformed");
		char clean[32];
		copy_clean(clean, sizeof clean, c);
		int n = snprintf(shop->alerts + len, sizeof shop->alerts - len, "%s%s",
			i ? ", " : "", clean);
		if (n > 0 && (size_t)n < sizeof shop->alerts - len)
			len += (size_t)n;
	}
	return 0;
}

/* "escrow_keys": absent (not reported), or a list of at most 8 key ids. */
static int read_escrow(struct fleet_shop *shop, json_t *a)
{
	shop->escrow_reported = 0;
	shop->nescrow = 0;
	shop->escrow[0] = 0;
	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > ESCROW_KEYS_MAX)
		return bad(shop, "escrow_keys: not a list of at most 8");
	size_t i, len = 0;
	json_t *e;
	json_array_foreach(a, i, e) {
		const char *k = json_string_value(e);
		if (!k || strlen(k) >= REPO_FINGERPRINT_TEXT)
			return bad(shop, "escrow_keys: an entry is malformed");
		char clean[REPO_FINGERPRINT_TEXT];
		copy_clean(clean, sizeof clean, k);
		int n = snprintf(shop->escrow + len, sizeof shop->escrow - len, "%s%s",
			i ? ", " : "", clean);
		if (n > 0 && (size_t)n < sizeof shop->escrow - len)
			len += (size_t)n;
	}
	shop->escrow_reported = 1;
	shop->nescrow = json_array_size(a);
	return 0;
}

int fleet_status_apply(struct fleet_shop *shop, const char *payload, int64_t stored,
	uint64_t *ret_seq)
{
	json_error_t je;
	json_t *o = json_loads(payload, JSON_REJECT_DUPLICATES, &je);
	int rc = -1;
	if (!json_is_object(o)) {
		bad(shop, "the payload is not a JSON object");
		goto out;
	}
	const char *id = json_string_value(json_object_get(o, "shop"));
	json_t *seq = json_object_get(o, "seq"), *alarm = json_object_get(o, "alarm");
	const char *version = json_string_value(json_object_get(o, "version"));
	if (!id || strcmp(id, shop->id)) {
		bad(shop, "the status is another shop's");
		goto out;
	}
	if (!json_is_integer(seq) || json_integer_value(seq) < 1) {
		bad(shop, "seq is missing or not a positive integer");
		goto out;
	}
	if (get_time(o, "written_at", stored, &shop->written_at) ||
	    get_time(o, "last_good_backup", stored, &shop->last_good_backup) ||
	    get_time(o, "last_proven_restore", stored, &shop->last_proven_restore) ||
	    (alarm && !json_is_boolean(alarm))) {
		bad(shop, "a date or the alarm is malformed");
		goto out;
	}
	if (read_dests(shop, json_object_get(o, "destinations"), stored) ||
	    read_alerts(shop, json_object_get(o, "alerts")) ||
	    read_escrow(shop, json_object_get(o, "escrow_keys")))
		goto out;
	copy_clean(shop->version, sizeof shop->version, version ? version : "");
	if (json_is_true(alarm))
		shop->problems |= FLEET_ALARM;
	if (shop->nalerts)
		shop->problems |= FLEET_ALERTS;
	*ret_seq = (uint64_t)json_integer_value(seq);
	rc = 0;
out:
	json_decref(o);
	return rc;
}

/* Is ${id} one of the ids in ${list} (", " between them)? */
static int escrow_listed(const char *list, const char *id)
{
	size_t n = strlen(id);
	for (const char *p = list; (p = strstr(p, id)); p += n)
		if ((p == list || p[-1] == ' ') && (!p[n] || p[n] == ','))
			return 1;
	return 0;
}

void fleet_judge(struct fleet_shop *shop, int64_t now, int lock, const char *escrow)
{
	if (shop->problems & (FLEET_UNKNOWN | FLEET_NEVER))
		return;
	if (!shop->stored)
		return;
	if (now - shop->stored > FLEET_SILENT_AFTER)
		shop->problems |= FLEET_SILENT;
	if (!shop->last_good_backup || now - shop->last_good_backup > FLEET_BACKUP_AFTER)
		shop->problems |= FLEET_NO_BACKUP;
	if (!shop->last_proven_restore || now - shop->last_proven_restore > FLEET_RESTORE_AFTER)
		shop->problems |= FLEET_NO_RESTORE;
	if (lock && !shop->lock_until)
		shop->problems |= FLEET_NOT_LOCKED;
	if (shop->lock_until && shop->lock_until - now < FLEET_LOCK_SOON)
		shop->problems |= FLEET_LOCK_ENDING;
	if (escrow && shop->escrow_reported && !escrow_listed(shop->escrow, escrow))
		shop->problems |= FLEET_ESCROW;
}
