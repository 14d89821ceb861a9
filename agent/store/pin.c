/* pin.c: pin objects (JSON inside the sealed envelope, like snapshots). */
#include "coffre/pin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "coffre/error.h"
#include "store/repo_internal.h"

#define PIN_VERSION 1
#define PIN_MAX_COUNT 100000	/* more pins than this in one repository is an attack */

int pin_parse(const void *text, size_t n, const uint8_t id[32], struct pin *ret,
	struct cf_error *err)
{
	char hex[ID_HEX];
	util_hex(hex, id, ID_LEN);
	json_t *o = json_loadb(text, n, JSON_REJECT_DUPLICATES, NULL);
	json_t *v = json_object_get(o, "version"), *sn = json_object_get(o, "snapshot"),
	       *t = json_object_get(o, "time"), *why = json_object_get(o, "reason");
	struct pin p = { 0 };
	memcpy(p.id, id, ID_LEN);
	int ok = json_is_object(o) && json_is_integer(v) && json_integer_value(v) == PIN_VERSION &&
		json_is_string(sn) && json_string_length(sn) == 64 &&
		util_unhex(p.snap, ID_LEN, json_string_value(sn)) == 0 && json_is_integer(t) &&
		(!why || json_is_string(why));
	if (ok) {
		p.time = json_integer_value(t);
		if (why)
			snprintf(p.reason, sizeof p.reason, "%s", json_string_value(why));
		*ret = p;
	}
	json_decref(o);
	return ok ? 0 : cf_error_set(err, CF_ECORRUPT, "pin %s is malformed", hex);
}

int pin_add(struct repo *r, const uint8_t snap[32], const char *reason, struct cf_error *err)
{
	char hex[ID_HEX], why[PIN_REASON_MAX + 1];
	util_hex(hex, snap, ID_LEN);
	snprintf(why, sizeof why, "%s", reason ? reason : "");
	json_t *o = json_object();
	json_object_set_new(o, "version", json_integer(PIN_VERSION));
	json_object_set_new(o, "snapshot", json_string(hex));
	json_object_set_new(o, "time", json_integer((json_int_t)time(NULL)));
	/* A reason cut in the middle of a UTF-8 sequence is no JSON string: keep what is. */
	json_t *js = json_string(why);
	json_object_set_new(o, "reason", js ? js : json_string(""));
	char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (!text)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int rc = repo_lock(r, 0, err);
	if (rc == 0) {
		uint8_t id[ID_LEN];
		rc = repo_put_object(r, REPO_PIN, text, strlen(text), id, err);
		repo_unlock(r);
	}
	free(text);
	return rc;
}

/* Every pin, the unreadable ones counted; without a lock (the caller holds one or not). */
static int list_pins(struct repo *r, struct pin **ret, size_t *ret_n, size_t *ret_bad,
	struct cf_error *err)
{
	uint8_t (*ids)[ID_LEN] = NULL;
	size_t n = 0, m = 0, bad = 0;
	int rc = repo_list(r, REPO_PIN, &ids, &n, err);
	if (rc)
		return rc;
	if (n > PIN_MAX_COUNT) {
		free(ids);
		return cf_error_set(err, CF_ECORRUPT, "%s holds %zu pins: too many to be genuine",
			repo_path(r), n);
	}
	struct pin *v = calloc(n ? n : 1, sizeof *v);
	if (!v) {
		free(ids);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		struct buf b = { 0 };
		if (repo_get_object(r, REPO_PIN, ids[i], &b, NULL) == 0 &&
		    pin_parse(b.p, b.len, ids[i], &v[m], NULL) == 0)
			m++;
		else
			bad++;
		buf_free(&b);
	}
	free(ids);
	*ret = v;
	*ret_n = m;
	if (ret_bad)
		*ret_bad = bad;
	return 0;
}

int pin_list(struct repo *r, struct pin **ret, size_t *ret_n, size_t *ret_bad,
	struct cf_error *err)
{
	return list_pins(r, ret, ret_n, ret_bad, err);
}

int pin_remove(struct repo *r, const uint8_t snap[32], size_t *ret_n, struct cf_error *err)
{
	struct pin *v = NULL;
	size_t n = 0, removed = 0;
	int rc = repo_lock(r, 0, err);
	if (rc)
		return rc;
	if ((rc = list_pins(r, &v, &n, NULL, err)) == 0) {
		for (size_t i = 0; i < n && rc == 0; i++) {
			if (memcmp(v[i].snap, snap, ID_LEN) != 0)
				continue;
			if ((rc = repo_delete_object(r, REPO_PIN, v[i].id, err)) == 0)
				removed++;
		}
	}
	free(v);
	repo_unlock(r);
	if (ret_n)
		*ret_n = removed;
	return rc;
}

int pin_has(const struct pin *v, size_t n, const uint8_t snap[32])
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(v[i].snap, snap, ID_LEN) == 0)
			return 1;
	return 0;
}
