/* alert_watch.c: when a condition starts, is recalled and ends (alert_watch.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/util.h"
#include "coffre/alert_watch.h"
#include "coffre/error.h"

#define WATCH_VERSION 1
#define TIME_MAX (INT64_C(1) << 40)

enum alert_state alert_watch_step(struct alert_open *o, int64_t now, int64_t ref, long after,
	long reminder, int64_t *ret_next)
{
	int64_t deadline = ref + after;
	if (reminder <= 0)
		reminder = 1;
	if (!o->open) {
		if (now < deadline) {
			*ret_next = deadline;
			return _ALERT_STATE_INVALID;
		}
		o->open = 1;
		o->since = deadline;
		o->last_sent = now;
		*ret_next = now + reminder;
		return ALERT_START;
	}
	if (now < deadline) {	/* the good thing happened again */
		o->open = 0;
		*ret_next = deadline;
		return ALERT_END;
	}
	if (now >= o->last_sent + reminder || now < o->last_sent) {
		/* (a clock set back is no reason to stay silent for longer than it went back) */
		o->last_sent = now;
		*ret_next = now + reminder;
		return ALERT_REMINDER;
	}
	*ret_next = o->last_sent + reminder;
	return _ALERT_STATE_INVALID;
}

struct alert_open *alert_watch_dest(struct alert_watch *w, enum alert_cond cond,
	const char *dest, int create)
{
	for (size_t i = 0; i < w->nd; i++)
		if (w->d[i].cond == cond && strcmp(w->d[i].dest, dest) == 0)
			return &w->d[i].o;
	if (!create || w->nd >= ALERT_WATCH_DESTS || strlen(dest) >= ALERT_DEST_MAX)
		return NULL;
	struct alert_dest_open *e = &w->d[w->nd++];
	memset(e, 0, sizeof *e);
	e->cond = cond;
	snprintf(e->dest, sizeof e->dest, "%s", dest);
	return &e->o;
}

void alert_watch_tidy(struct alert_watch *w)
{
	size_t k = 0;
	for (size_t i = 0; i < w->nd; i++)
		if (w->d[i].o.open)
			w->d[k++] = w->d[i];
	w->nd = k;
}

static int get_time(json_t *o, const char *k, int64_t *ret)
{
	json_t *v = json_object_get(o, k);
	*ret = 0;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > TIME_MAX)
		return -1;
	*ret = json_integer_value(v);
	return 0;
}

int alert_watch_parse(const uint8_t *p, size_t len, struct alert_watch *ret)
{
	if (len > ALERT_WATCH_MAX)
		return CF_ECORRUPT;
	json_error_t je;
	json_t *o = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &je);
	struct alert_watch w;
	memset(&w, 0, sizeof w);
	json_t *v = json_object_get(o, "v"), *conds = json_object_get(o, "conditions");
	json_t *dests = json_object_get(o, "destinations");
	int64_t streak = 0;
	int bad = !json_is_object(o) || !json_is_integer(v) ||
		json_integer_value(v) != WATCH_VERSION || get_time(o, "first_seen", &w.first_seen) ||
		(conds && !json_is_object(conds)) || (dests && !json_is_array(dests)) ||
		get_time(o, "fail_streak", &streak) || streak > 1000000 ||
		get_time(o, "fail_since", &w.fail_since);
	w.fail_streak = (int)streak;
	const char *name;
	json_t *c;
	if (!bad && conds)
		json_object_foreach(conds, name, c) {
			enum alert_cond id = alert_cond_parse(name);
			if (id == _ALERT_COND_INVALID)
				continue;	/* a later version's condition: not ours to judge */
			struct alert_open *op = &w.c[id];
			if (!json_is_object(c) || get_time(c, "since", &op->since) ||
			    get_time(c, "last_sent", &op->last_sent)) {
				bad = 1;
				break;
			}
			op->open = 1;
		}
	size_t i;
	json_t *e;
	if (!bad && dests)
		json_array_foreach(dests, i, e) {
			json_t *cn = json_object_get(e, "condition"), *dn = json_object_get(e, "dest");
			if (!json_is_object(e) || !json_is_string(cn) || !json_is_string(dn) ||
			    json_string_length(dn) >= ALERT_DEST_MAX ||
			    strlen(json_string_value(dn)) != json_string_length(dn)) {
				bad = 1;
				break;
			}
			enum alert_cond id = alert_cond_parse(json_string_value(cn));
			if (id == _ALERT_COND_INVALID)
				continue;
			struct alert_open *op = alert_watch_dest(&w, id, json_string_value(dn), 1);
			if (!op || op->open || get_time(e, "since", &op->since) ||
			    get_time(e, "last_sent", &op->last_sent)) {
				bad = 1;	/* too many, a duplicate, or a bad time */
				break;
			}
			op->open = 1;
		}
	json_decref(o);
	if (bad)
		return CF_ECORRUPT;
	*ret = w;
	return 0;
}

int alert_watch_load(const char *dir, struct alert_watch *ret, struct cf_error *err)
{
	char *path = util_path("%s/%s", dir, ALERT_WATCH_FILE);
	if (!path)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	struct buf b = { 0 };
	int rc = util_read_file(path, ALERT_WATCH_MAX, &b, err);
	if (rc == CF_ENOENT) {
		memset(ret, 0, sizeof *ret);
		rc = 0;
	} else if (rc == 0 && alert_watch_parse(b.p, b.len, ret)) {
		rc = cf_error_set(err, CF_ECORRUPT, "'%s' is damaged", path);
	}
	buf_free(&b);
	free(path);
	return rc;
}

int alert_watch_save(const char *dir, const struct alert_watch *w, struct cf_error *err)
{
	json_t *conds = json_object();
	json_t *dests = json_array();
	json_t *o = json_pack("{s:i, s:I, s:I, s:I}", "v", WATCH_VERSION, "first_seen",
		(json_int_t)w->first_seen, "fail_streak", (json_int_t)w->fail_streak, "fail_since",
		(json_int_t)w->fail_since);
	int bad = !conds || !o || !dests;
	for (size_t i = 0; i < w->nd && !bad; i++)
		if (w->d[i].o.open)
			bad = json_array_append_new(dests, json_pack("{s:s, s:s, s:I, s:I}",
				"condition", alert_cond_name(w->d[i].cond), "dest", w->d[i].dest,
				"since", (json_int_t)w->d[i].o.since, "last_sent",
				(json_int_t)w->d[i].o.last_sent));
	if (!bad) {
		bad = json_object_set_new(o, "destinations", dests);	/* takes ${dests} */
		dests = NULL;
	}
	for (int i = 0; i < _ALERT_COND_MAX && !bad; i++)
		if (w->c[i].open)
			bad = json_object_set_new(conds, alert_cond_name((enum alert_cond)i),
				json_pack("{s:I, s:I}", "since", (json_int_t)w->c[i].since,
					"last_sent", (json_int_t)w->c[i].last_sent));
	if (!bad) {
		bad = json_object_set_new(o, "conditions", conds);	/* takes ${conds} */
		conds = NULL;
	}
	char *text = bad ? NULL : json_dumps(o, JSON_COMPACT);
	json_decref(o);
	json_decref(conds);
	json_decref(dests);
	char *path = util_path("%s/%s", dir, ALERT_WATCH_FILE);
	int rc = !text || !path ? cf_error_set(err, CF_ENOMEM, "out of memory") :
		util_write_atomic(path, text, strlen(text), 0, err);
	free(text);
	free(path);
	return rc;
}
