/* alertq.c: the alerts waiting for delivery, one JSON file each (see alertq.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "base/util.h"
#include "coffre/alertq.h"
#include "coffre/error.h"

#define ENTRY_VERSION 1
#define LIST_MAX 4096		/* names looked at in the folder */
#define TIME_MAX (INT64_C(1) << 40)	/* beyond year 30000: refused */

struct alertq {
	char *dir;
	size_t max;
};

int alertq_open(const char *dir, size_t max, struct alertq **ret, struct cf_error *err)
{
	if (util_mkdirs(dir, 0700) != 0)
		return cf_error_sys(err, CF_EIO, "cannot make the alert queue '%s'", dir);
	struct alertq *q = calloc(1, sizeof *q);
	if (!q || !(q->dir = strdup(dir))) {
		free(q);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	q->max = max ? max : ALERTQ_DEFAULT_MAX;
	*ret = q;
	return 0;
}

void alertq_free(struct alertq *q)
{
	if (!q)
		return;
	free(q->dir);
	free(q);
}

int64_t alertq_backoff(uint32_t attempts)
{
	int64_t d = ALERTQ_BACKOFF_FIRST;
	for (uint32_t i = 1; i < attempts && d < ALERTQ_BACKOFF_MAX; i++)
		d *= 2;
	return d < ALERTQ_BACKOFF_MAX ? d : ALERTQ_BACKOFF_MAX;
}

void alertq_failed(struct alertq_entry *e, int64_t now, const char *error)
{
	if (e->attempts < 1000000)
		e->attempts++;
	e->next_try = now + alertq_backoff(e->attempts);
	snprintf(e->last_error, sizeof e->last_error, "%s", error ? error : "");
}

/* "0123abcd...-<32 hex>.json": what the queue names its entries; anything else is not ours
 * (a temp file of util_write_atomic, a file put there by hand). */
static int entry_name(const char *n)
{
	size_t len = strlen(n);
	if (len != 16 + 1 + ALERT_ID_LEN + 5 || n[16] != '-' || strcmp(n + len - 5, ".json"))
		return 0;
	for (size_t i = 0; i < len - 5; i++)
		if (i != 16 && !((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f')))
			return 0;
	return 1;
}

static int hex_id(const char *s)
{
	if (strlen(s) != ALERT_ID_LEN)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

/* An integer member within [0, max]; absent reads as 0. */
static int get_int(json_t *o, const char *k, int64_t max, int64_t *ret)
{
	json_t *v = json_object_get(o, k);
	if (!v) {
		*ret = 0;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
		return -1;
	*ret = json_integer_value(v);
	return 0;
}

static int get_str(json_t *o, const char *k, char *out, size_t n, int required)
{
	json_t *v = json_object_get(o, k);
	if (!v || json_is_null(v)) {
		out[0] = 0;
		return required ? -1 : 0;
	}
	if (!json_is_string(v) || json_string_length(v) >= n ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

int alertq_parse(const uint8_t *p, size_t len, struct alertq_entry *ret)
{
	if (len > ALERTQ_ENTRY_MAX)
		return CF_ECORRUPT;
	json_error_t je;
	json_t *o = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &je);
	if (!o || !json_is_object(o)) {
		json_decref(o);
		return CF_ECORRUPT;
	}
	struct alertq_entry e;
	memset(&e, 0, sizeof e);
	char cond[32], state[16];
	int64_t v, attempts, done;
	int bad = get_int(o, "v", 1000, &v) || v != ENTRY_VERSION;
	bad = bad || get_str(o, "id", e.ev.id, sizeof e.ev.id, 1) || !hex_id(e.ev.id);
	bad = bad || get_str(o, "condition", cond, sizeof cond, 1) ||
		(e.ev.cond = alert_cond_parse(cond)) == _ALERT_COND_INVALID;
	bad = bad || get_str(o, "state", state, sizeof state, 1) ||
		(e.ev.state = alert_state_parse(state)) == _ALERT_STATE_INVALID;
	bad = bad || get_int(o, "since", TIME_MAX, &e.ev.since) ||
		get_int(o, "at", TIME_MAX, &e.ev.at) || get_int(o, "last_ok", TIME_MAX, &e.ev.last_ok);
	bad = bad || get_str(o, "dest", e.ev.dest, sizeof e.ev.dest, 0) ||
		get_str(o, "detail", e.ev.detail, sizeof e.ev.detail, 0);
	bad = bad || get_int(o, "attempts", 1000000, &attempts) ||
		get_int(o, "next_try", TIME_MAX, &e.next_try) ||
		get_int(o, "done", ALERTQ_MAIL | ALERTQ_WEBHOOK, &done);
	bad = bad || get_str(o, "last_error", e.last_error, sizeof e.last_error, 0);
	json_decref(o);
	if (bad)
		return CF_ECORRUPT;
	e.attempts = (uint32_t)attempts;
	e.done = (unsigned)done;
	*ret = e;
	return 0;
}

int alertq_format(const struct alertq_entry *e, char **ret, struct cf_error *err)
{
	json_t *o = json_pack("{s:i, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:I, s:I, s:I, s:s}",
		"v", ENTRY_VERSION, "id", e->ev.id, "condition", alert_cond_name(e->ev.cond),
		"state", alert_state_name(e->ev.state), "since", (json_int_t)e->ev.since,
		"at", (json_int_t)e->ev.at, "last_ok", (json_int_t)e->ev.last_ok,
		"dest", e->ev.dest, "detail", e->ev.detail, "attempts", (json_int_t)e->attempts,
		"next_try", (json_int_t)e->next_try, "done", (json_int_t)e->done,
		"last_error", e->last_error);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!s)
		return cf_error_set(err, CF_ECORRUPT, "cannot write an alert entry (a field out of "
			"range or not UTF-8)");
	*ret = s;
	return 0;
}

static int write_entry(struct alertq *q, const struct alertq_entry *e, int flags,
	struct cf_error *err)
{
	char *text = NULL;
	int rc = alertq_format(e, &text, err);
	if (rc)
		return rc;
	char *path = util_path("%s/%s", q->dir, e->name);
	if (!path) {
		free(text);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	rc = util_write_atomic(path, text, strlen(text), flags, err);
	free(path);
	free(text);
	return rc;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct alertq_entry *)a)->name,
		((const struct alertq_entry *)b)->name);
}

int alertq_list(struct alertq *q, struct alertq_entry **ret, size_t *ret_n, size_t *ret_bad,
	struct cf_error *err)
{
	DIR *d = opendir(q->dir);
	if (!d)
		return cf_error_sys(err, CF_EIO, "cannot read the alert queue '%s'", q->dir);
	struct alertq_entry *v = NULL;
	size_t n = 0, bad = 0, seen = 0;
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d)) && seen < LIST_MAX) {
		if (!entry_name(de->d_name))
			continue;
		seen++;
		char *path = util_path("%s/%s", q->dir, de->d_name);
		struct buf b = { 0 };
		struct cf_error e2 = { 0 };
		if (!path) {
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
			break;
		}
		int r = util_read_file(path, ALERTQ_ENTRY_MAX, &b, &e2);
		if (r == CF_ENOENT) {	/* removed meanwhile */
			free(path);
			continue;
		}
		struct alertq_entry e;
		if (r == 0 && alertq_parse(b.p, b.len, &e) == 0) {
			struct alertq_entry *nv = realloc(v, (n + 1) * sizeof *v);
			if (!nv) {
				buf_free(&b);
				free(path);
				rc = cf_error_set(err, CF_ENOMEM, "out of memory");
				break;
			}
			v = nv;
			memcpy(e.name, de->d_name, strlen(de->d_name) + 1);	/* entry_name: 54 */
			v[n++] = e;
		} else if (r == 0 || r == CF_ECORRUPT) {
			unlink(path);	/* out of shape or too big: never deliverable */
			bad++;
		} else {
			buf_free(&b);
			free(path);
			rc = r;
			*err = e2;
			break;
		}
		buf_free(&b);
		free(path);
	}
	closedir(d);
	if (rc) {
		free(v);
		return rc;
	}
	if (n)
		qsort(v, n, sizeof *v, cmp_name);
	*ret = v;
	*ret_n = n;
	if (ret_bad)
		*ret_bad = bad;
	return 0;
}

int alertq_remove(struct alertq *q, const char *name, struct cf_error *err)
{
	if (!entry_name(name))
		return cf_error_set(err, CF_EUSAGE, "'%s' is no alert entry", name);
	char *path = util_path("%s/%s", q->dir, name);
	if (!path)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int rc = 0;
	if (unlink(path) != 0 && errno != ENOENT)
		rc = cf_error_sys(err, CF_EIO, "cannot remove '%s'", path);
	free(path);
	return rc;
}

int alertq_update(struct alertq *q, const struct alertq_entry *e, struct cf_error *err)
{
	if (!entry_name(e->name))
		return cf_error_set(err, CF_EUSAGE, "'%s' is no alert entry", e->name);
	char *path = util_path("%s/%s", q->dir, e->name);
	if (!path)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	struct stat st;
	int gone = stat(path, &st) != 0 && errno == ENOENT;
	free(path);
	if (gone)
		return cf_error_set(err, CF_ENOENT, "alert entry '%s' is gone", e->name);
	return write_entry(q, e, 0, err);
}

/* Same condition, same destination. */
static int same_cond(const struct alert_event *a, const struct alert_event *b)
{
	return a->cond == b->cond && strcmp(a->dest, b->dest) == 0;
}

int alertq_push(struct alertq *q, const struct alert_event *ev, int64_t now,
	size_t *ret_dropped, struct cf_error *err)
{
	struct alertq_entry *v = NULL;
	size_t n = 0, dropped = 0;
	int rc = alertq_list(q, &v, &n, NULL, err);
	if (rc)
		return rc;
	size_t live = n;
	/* A newer word on the same condition makes its pending reminders moot. */
	if (ev->state != ALERT_START)
		for (size_t i = 0; i < n; i++)
			if (v[i].ev.state == ALERT_REMINDER && same_cond(&v[i].ev, ev)) {
				if ((rc = alertq_remove(q, v[i].name, err)))
					goto out;
				v[i].name[0] = 0;
				live--;
				dropped++;
			}
	/* Room for one more: the oldest reminders first, then the oldest of all. */
	for (int pass = 0; pass < 2 && live >= q->max; pass++)
		for (size_t i = 0; i < n && live >= q->max; i++)
			if (v[i].name[0] && (pass == 1 || v[i].ev.state == ALERT_REMINDER)) {
				if ((rc = alertq_remove(q, v[i].name, err)))
					goto out;
				v[i].name[0] = 0;
				live--;
				dropped++;
			}
	struct alertq_entry e;
	memset(&e, 0, sizeof e);
	e.ev = *ev;
	e.next_try = now;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t stamp = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	/* Names sort in the order of pushes; a clock that went back cannot put a new entry
	 * before an old one's name (the last name + 1 then). */
	for (size_t i = 0; i < n; i++) {
		unsigned long long s = strtoull(v[i].name[0] ? v[i].name : "0", NULL, 16);
		if (v[i].name[0] && s >= stamp)
			stamp = s + 1;
	}
	snprintf(e.name, sizeof e.name, "%016llx-%s.json", (unsigned long long)stamp, ev->id);
	rc = write_entry(q, &e, UTIL_NOREPLACE, err);
out:
	free(v);
	if (ret_dropped)
		*ret_dropped = dropped;
	return rc;
}
