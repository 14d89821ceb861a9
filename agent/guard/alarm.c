/* alarm.c: a ransomware alarm's state file and its pin in the repository (alarm.h). */
#include "coffre/alarm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "coffre/error.h"
#include "coffre/pin.h"
#include "coffre/snap.h"
#include "base/util.h"

#define ALARM_FILE_MAX 16384

static int64_t get_int(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static void get_str(json_t *o, const char *k, char *out, size_t cap)
{
	json_t *v = json_object_get(o, k);
	snprintf(out, cap, "%s", json_is_string(v) ? json_string_value(v) : "");
}

int alarm_load(const char *dir, struct alarm *ret, struct cf_error *err)
{
	memset(ret, 0, sizeof *ret);
	char *path = util_path("%s/alarm.json", dir);
	if (!path)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	struct buf b = { 0 };
	struct cf_error e2 = { 0 };
	int rc = util_read_file(path, ALARM_FILE_MAX, &b, &e2);
	if (rc == CF_ENOENT || (rc && e2.sys_errno == ENOENT)) {
		free(path);
		return 0;
	}
	/* Unreadable or damaged: still an alarm, with what can be read. */
	ret->active = 1;
	json_t *o = rc ? NULL : json_loadb((const char *)b.p, b.len, 0, NULL);
	buf_free(&b);
	if (json_is_object(o)) {
		ret->since = get_int(o, "since");
		ret->raised = get_int(o, "raised");
		ret->raised_ms = get_int(o, "raised_ms");
		ret->kinds = (unsigned)get_int(o, "kinds");
		ret->touched = (uint64_t)get_int(o, "touched");
		ret->clean_time = get_int(o, "clean_time");
		get_str(o, "first_path", ret->first_path, sizeof ret->first_path);
		get_str(o, "clean", ret->clean, sizeof ret->clean);
		uint8_t id[32];
		if (ret->clean[0] && (strlen(ret->clean) != 64 || util_unhex(id, 32, ret->clean)))
			ret->clean[0] = 0;
	}
	json_decref(o);
	free(path);
	return 0;
}

int alarm_save(const char *dir, const struct alarm *a, struct cf_error *err)
{
	char *path = util_path("%s/alarm.json", dir);
	if (!path)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int rc = 0;
	if (!a->active) {
		if (unlink(path) != 0 && errno != ENOENT)
			rc = cf_error_sys(err, CF_EIO, "cannot remove '%s'", path);
		else
			util_fsync_parent(path);
		free(path);
		return rc;
	}
	json_t *o = json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:s,s:s,s:I}", "active", 1,
		"since", (json_int_t)a->since, "raised", (json_int_t)a->raised,
		"raised_ms", (json_int_t)a->raised_ms,
		"kinds", (json_int_t)a->kinds, "touched", (json_int_t)a->touched,
		"first_path", a->first_path, "clean", a->clean,
		"clean_time", (json_int_t)a->clean_time);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
	else
		rc = util_write_atomic(path, text, strlen(text), 0, err);
	free(text);
	free(path);
	return rc;
}

int alarm_pin(struct repo *r, struct alarm *a, struct cf_error *err)
{
	struct snap **list = NULL;
	size_t n = 0;
	int rc = snap_list(r, &list, &n, NULL, err);
	if (rc)
		return rc;
	const struct snap *best = NULL;
	/* The list is in time order: the last one before the attack began. */
	for (size_t i = 0; i < n; i++)
		if (!list[i]->future && list[i]->time < a->since)
			best = list[i];
	if (!best) {
		snap_list_free(list, n);
		return cf_error_set(err, CF_ENOENT, "no snapshot was made before the attack began");
	}
	char reason[PIN_REASON_MAX + 1], when[40];
	struct tm tm;
	time_t t = (time_t)a->since;
	localtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(reason, sizeof reason, "%s: the last snapshot before the attack that began %s",
		ALARM_PIN_REASON, when);
	rc = pin_add(r, best->id, reason, err);
	if (rc == 0) {
		snprintf(a->clean, sizeof a->clean, "%s", best->idhex);
		a->clean_time = best->time;
	}
	snap_list_free(list, n);
	return rc;
}

int alarm_find_pin(struct repo *r, uint8_t ret_snap[32], int64_t *ret_time,
	struct cf_error *err)
{
	struct pin *v = NULL;
	size_t n = 0, bad = 0;
	int rc = pin_list(r, &v, &n, &bad, err);
	if (rc)
		return rc;
	const struct pin *best = NULL;
	size_t plen = strlen(ALARM_PIN_REASON);
	for (size_t i = 0; i < n; i++)
		if (strncmp(v[i].reason, ALARM_PIN_REASON, plen) == 0 &&
		    (!best || v[i].time > best->time))
			best = &v[i];
	if (best) {
		memcpy(ret_snap, best->snap, 32);
		if (ret_time)
			*ret_time = best->time;
	} else {
		rc = cf_error_set(err, CF_ENOENT, "no ransomware alarm has pinned a snapshot in "
			"this repository");
	}
	free(v);
	return rc;
}
