/* state.c: the daemon's status (JSON): its keys, written and read back. The run history is
 * state_history.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "coffre/backup.h"
#include "coffre/error.h"
#include "coffre/detect.h"
#include "coffre/state.h"
#include "base/util.h"
#include "daemon/state_internal.h"


/* ---- writing ---- */

static json_t *time_or_null(time_t t)
{
	return t > 0 ? json_integer(t) : json_null();
}

json_t *state_jstr(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

json_t *state_ju64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static void iso_time(time_t t, char out[40])
{
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(out, 40, "%Y-%m-%dT%H:%M:%S%z", &tm);
}

static json_t *run_json(const struct state_run *r)
{
	char t[40];
	json_t *o = json_object();
	iso_time(r->start, t);
	json_object_set_new(o, "run", state_ju64(r->run));
	json_object_set_new(o, "start", json_integer(r->start));
	json_object_set_new(o, "time", json_string(r->time[0] ? r->time : t));
	json_object_set_new(o, "result", json_string(r->result));
	json_object_set_new(o, "snapshot", state_jstr(r->snapshot));
	json_object_set_new(o, "files", state_ju64(r->files));
	json_object_set_new(o, "files_new", state_ju64(r->files_new));
	json_object_set_new(o, "files_changed", state_ju64(r->files_changed));
	json_object_set_new(o, "bytes_read", state_ju64(r->bytes_read));
	json_object_set_new(o, "bytes_added", state_ju64(r->bytes_added));
	json_object_set_new(o, "entries", state_ju64(r->entries));
	json_object_set_new(o, "dirs_reused", state_ju64(r->dirs_reused));
	json_object_set_new(o, "suspect_format", state_ju64(r->suspect_format));
	json_object_set_new(o, "suspect_random", state_ju64(r->suspect_random));
	json_object_set_new(o, "suspect_notes", state_ju64(r->suspect_notes));
	json_object_set_new(o, "suspect_path", state_jstr(r->suspect_path));
	json_object_set_new(o, "warnings", state_ju64(r->warnings));
	json_object_set_new(o, "duration", json_real(r->duration));
	json_object_set_new(o, "full_scan", json_boolean(r->full_scan));
	json_object_set_new(o, "error", state_jstr(r->error));
	json_object_set_new(o, "missing", state_jstr(r->missing));
	json_t *wl = json_array();
	for (int i = 0; i < r->nwarn && i < STATE_WARN_KEPT; i++)
		json_array_append_new(wl, json_string(r->warn[i]));
	json_object_set_new(o, "warning_messages", wl);
	if (r->retention_error[0])
		json_object_set_new(o, "retention_error", json_string(r->retention_error));
	json_object_set_new(o, "retention", json_boolean(r->retention));
	json_object_set_new(o, "spool_cleared", state_ju64(r->spool_cleared));
	if (r->spool_clear_error[0])
		json_object_set_new(o, "spool_clear_error", json_string(r->spool_clear_error));
	return o;
}

static json_t *dest_json(const struct state_dest *ds)
{
	json_t *e = json_object();
	json_object_set_new(e, "name", json_string(ds->name));
	json_object_set_new(e, "url", json_string(ds->url));
	json_object_set_new(e, "result", state_jstr(ds->result));
	json_object_set_new(e, "last_attempt", time_or_null(ds->last_attempt));
	json_object_set_new(e, "last_complete", time_or_null(ds->last_complete));
	json_object_set_new(e, "pending_since", time_or_null(ds->pending_since));
	json_object_set_new(e, "pending_objects", state_ju64(ds->pending));
	json_object_set_new(e, "pending_bytes", state_ju64(ds->pending_bytes));
	json_object_set_new(e, "sent", state_ju64(ds->sent));
	json_object_set_new(e, "sent_bytes", state_ju64(ds->sent_bytes));
	json_object_set_new(e, "object_lock", json_boolean(ds->object_lock));
	json_object_set_new(e, "lock_note", state_jstr(ds->lock_note));
	json_object_set_new(e, "error", state_jstr(ds->error));
	json_object_set_new(e, "removed_snapshots", state_ju64(ds->removed_snapshots));
	json_object_set_new(e, "lock_waiting", state_ju64(ds->lock_waiting));
	json_object_set_new(e, "denied", state_ju64(ds->denied));
	json_object_set_new(e, "thinned", state_ju64(ds->thinned));
	json_object_set_new(e, "too_small", json_boolean(ds->too_small));
	json_object_set_new(e, "lock_until", time_or_null(ds->lock_until));
	json_object_set_new(e, "lock_failed", json_boolean(ds->lock_failed));
	json_t *dr = json_object();
	json_object_set_new(dr, "result", state_jstr(ds->drill_result));
	json_object_set_new(dr, "time", time_or_null(ds->drill_time));
	json_object_set_new(dr, "last_ok", time_or_null(ds->drill_last_ok));
	json_object_set_new(dr, "files", state_ju64(ds->drill_files));
	json_object_set_new(dr, "bytes", state_ju64(ds->drill_bytes));
	json_object_set_new(dr, "failures", state_ju64(ds->drill_failures));
	json_object_set_new(dr, "seconds", json_real(ds->drill_seconds));
	json_object_set_new(dr, "throughput", json_real(ds->drill_throughput));
	json_object_set_new(dr, "full_restore_estimate", json_real(ds->drill_estimate));
	json_object_set_new(dr, "error", state_jstr(ds->drill_error));
	json_object_set_new(dr, "full_time", time_or_null(ds->drill_full_time));
	json_object_set_new(dr, "databases_too_big", state_ju64(ds->drill_db_too_big));
	json_object_set_new(e, "drill", dr);
	return e;
}

static json_t *dests_json(const struct state_status *s)
{
	json_t *dl = json_array();
	for (size_t i = 0; i < s->ndests; i++)
		json_array_append_new(dl, dest_json(&s->dests[i]));
	return dl;
}

static json_t *progress_json(const struct state_progress *p)
{
	json_t *c = json_object();
	json_object_set_new(c, "current", json_string(p->current));
	json_object_set_new(c, "run", state_ju64(p->run));
	json_object_set_new(c, "start", json_integer(p->start));
	json_object_set_new(c, "full_scan", json_boolean(p->full_scan));
	json_object_set_new(c, "files", state_ju64(p->files));
	json_object_set_new(c, "entries", state_ju64(p->entries));
	json_object_set_new(c, "bytes_read", state_ju64(p->bytes_read));
	json_object_set_new(c, "bytes_added", state_ju64(p->bytes_added));
	json_object_set_new(c, "duration", json_real(p->duration));
	return c;
}

/* The ransomware alarm, or null: what fired, since when, and the way back. */
static json_t *alarm_json(const struct alarm *a)
{
	if (!a->active)
		return json_null();
	json_t *o = json_object(), *k = json_array();
	for (int i = 0; i < DETECT_NKINDS; i++)
		if (a->kinds & (1u << i))
			json_array_append_new(k, json_string(detect_kind_name((enum detect_kind)i)));
	json_object_set_new(o, "since", time_or_null(a->since));
	json_object_set_new(o, "raised", time_or_null(a->raised));
	json_object_set_new(o, "raised_ms", state_ju64(a->raised_ms > 0 ? (uint64_t)a->raised_ms : 0));
	json_object_set_new(o, "kinds", state_ju64(a->kinds));
	json_object_set_new(o, "signals", k);
	json_object_set_new(o, "touched", state_ju64(a->touched));
	json_object_set_new(o, "first_path", json_string(a->first_path));
	json_object_set_new(o, "clean_snapshot", state_jstr(a->clean));
	json_object_set_new(o, "clean_time", time_or_null(a->clean_time));
	json_object_set_new(o, "restore", json_string("coffre restore --before-attack"));
	return o;
}

static json_t *status_json(const struct state_status *s)
{
	json_t *o = json_object();
	json_object_set_new(o, "state", json_string(s->state));
	json_object_set_new(o, "pid", json_integer(s->pid));
	json_object_set_new(o, "runs", state_ju64(s->runs));
	json_object_set_new(o, "running", s->running ? progress_json(&s->progress) : json_null());
	json_object_set_new(o, "backup_requested", json_boolean(s->backup_requested));
	json_object_set_new(o, "config", json_string(s->config));
	json_object_set_new(o, "repository", json_string(s->repository));
	json_object_set_new(o, "schedule", json_string(s->schedule));
	json_object_set_new(o, "last_backup", s->has_last ? run_json(&s->last) : json_null());
	json_object_set_new(o, "last_success", time_or_null(s->last_success));
	json_object_set_new(o, "next_backup", time_or_null(s->next_backup));
	json_object_set_new(o, "retry", json_boolean(s->retry));
	char t[40];
	if (s->next_backup_time[0] || s->next_backup <= 0) {
		json_object_set_new(o, "next_backup_time", state_jstr(s->next_backup_time));
	} else {
		iso_time(s->next_backup, t);
		json_object_set_new(o, "next_backup_time", json_string(t));
	}
	json_t *p = json_object();
	json_object_set_new(p, "dirty_folders", state_ju64(s->dirty_folders));
	json_object_set_new(p, "full_scan", json_boolean(s->full_scan_due));
	json_object_set_new(p, "last_change", time_or_null(s->last_change));
	json_object_set_new(o, "pending", p);
	json_t *wl = json_array();
	for (size_t i = 0; i < s->nwatched; i++) {
		json_t *e = json_object();
		json_object_set_new(e, "path", json_string(s->watched[i].path));
		json_object_set_new(e, "state", json_string(s->watched[i].state));
		json_array_append_new(wl, e);
	}
	json_object_set_new(o, "watched", wl);
	json_object_set_new(o, "watches", state_ju64(s->watches));
	json_object_set_new(o, "watch_incomplete", json_boolean(s->watch_incomplete));
	json_object_set_new(o, "unwatched_folders", state_ju64(s->unwatched_folders));
	json_object_set_new(o, "overflows", state_ju64(s->overflows));
	json_object_set_new(o, "last_full_scan", time_or_null(s->last_full_scan));
	json_object_set_new(o, "next_is_push_retry", json_boolean(s->next_is_push_retry));
	json_object_set_new(o, "clear_spool", json_boolean(s->clear_spool));
	json_object_set_new(o, "destinations", dests_json(s));
	json_object_set_new(o, "last_retention", time_or_null(s->last_retention));
	json_object_set_new(o, "alarm", alarm_json(&s->alarm));
	json_t *al = json_array();
	for (size_t i = 0; i < s->nalerts && i < STATE_ALERTS_MAX; i++) {
		json_t *e = json_object();
		json_object_set_new(e, "condition", json_string(s->alerts[i].cond));
		json_object_set_new(e, "since", time_or_null(s->alerts[i].since));
		json_object_set_new(e, "message", json_string(s->alerts[i].message));
		json_array_append_new(al, e);
	}
	json_object_set_new(o, "alerts", al);
	json_t *q = json_object();
	json_object_set_new(q, "waiting", state_ju64(s->alerts_waiting));
	json_object_set_new(q, "last_error", s->alerts_error[0] ? json_string(s->alerts_error) :
		json_null());
	json_object_set_new(o, "alert_queue", q);
	json_t *pg = json_object();
	json_object_set_new(pg, "port", json_integer(s->page_port));
	json_object_set_new(pg, "token_file", json_string(s->page_token_file));
	json_object_set_new(o, "status_page", s->page_port > 0 ? pg : json_null());
	if (s->page_port <= 0)
		json_decref(pg);
	return o;
}

int state_jdump(json_t *j, size_t flags, char **ret_text, struct cf_error *err)
{
	char *text = j ? json_dumps(j, flags) : NULL;
	json_decref(j);
	if (!text)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	*ret_text = text;
	return 0;
}

int state_status_format(const struct state_status *s, char **ret_text, struct cf_error *err)
{
	return state_jdump(status_json(s), JSON_INDENT(2), ret_text, err);
}

int state_status_format_last(const struct state_status *s, char **ret_text,
	struct cf_error *err)
{
	if (!s->has_last)
		return cf_error_set(err, CF_ENOENT, "no backup yet");
	json_t *o = run_json(&s->last);
	json_object_set_new(o, "destinations", dests_json(s));
	return state_jdump(o, JSON_INDENT(2), ret_text, err);
}

int state_status_write(const char *path, const struct state_status *s, int flags,
	struct cf_error *err)
{
	char *text = NULL;
	int rc = state_status_format(s, &text, err);
	if (rc == 0)
		rc = util_write_atomic(path, text, strlen(text),
			flags & STATE_NOSYNC ? UTIL_NOSYNC : 0, err);
	free(text);
	return rc;
}

int state_ack_format(const struct state_ack *a, char **ret_text, struct cf_error *err)
{
	json_t *o = json_object();
	json_object_set_new(o, "ok", json_boolean(a->ok));
	if (a->ok) {
		json_object_set_new(o, "run", state_ju64(a->run));
		if (a->after_running)
			json_object_set_new(o, "after_running", json_true());
	} else {
		json_object_set_new(o, "error", json_string(a->error));
	}
	return state_jdump(o, JSON_COMPACT, ret_text, err);
}

void state_run_set_stats(struct state_run *s, const struct backup_stats *st)
{
	s->files = st->files_new + st->files_changed + st->files_unchanged;
	s->files_new = st->files_new;
	s->files_changed = st->files_changed;
	s->bytes_read = st->bytes_read;
	s->bytes_added = st->bytes_added;
	s->entries = st->entries;
	s->dirs_reused = st->dirs_reused;
	s->warnings = st->warnings;
	s->suspect_format = st->suspect_format;
	s->suspect_random = st->suspect_random;
	s->suspect_notes = st->suspect_notes;
	snprintf(s->suspect_path, sizeof s->suspect_path, "%s", st->suspect_path);
}

char *state_status_path(const char *state_dir)
{
	return util_path("%s/status.json", state_dir);
}

/* ---- reading untrusted JSON ---- */

/* The first failure sticks: CF_ECORRUPT (with the key) or CF_ENOMEM. */
struct pj {
	int rc;
	const char *key;
};

static json_t *field(struct pj *p, json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (p->rc || !v || json_is_null(v))
		return NULL;
	return v;
}

static void bad(struct pj *p, const char *k)
{
	if (!p->rc) {
		p->rc = CF_ECORRUPT;
		p->key = k;
	}
}

static void get_u64(struct pj *p, json_t *o, const char *k, uint64_t *out)
{
	json_t *v = field(p, o, k);
	*out = 0;
	if (v && (!json_is_integer(v) || json_integer_value(v) < 0))
		bad(p, k);
	else if (v)
		*out = (uint64_t)json_integer_value(v);
}

static void get_time(struct pj *p, json_t *o, const char *k, time_t *out)
{
	uint64_t v;
	get_u64(p, o, k, &v);
	*out = (time_t)v;
}

static void get_real(struct pj *p, json_t *o, const char *k, double *out)
{
	json_t *v = field(p, o, k);
	*out = 0;
	if (v && !json_is_number(v))
		bad(p, k);
	else if (v)
		*out = json_number_value(v);
}

static void get_bool(struct pj *p, json_t *o, const char *k, int *out)
{
	json_t *v = field(p, o, k);
	*out = 0;
	if (v && !json_is_boolean(v))
		bad(p, k);
	else if (v)
		*out = json_is_true(v);
}

/* A string that must fit ${n} bytes with its NUL. */
static void get_str(struct pj *p, json_t *v, const char *k, char *out, size_t n)
{
	out[0] = 0;
	if (!v)
		return;
	if (!json_is_string(v) || json_string_length(v) >= n)
		bad(p, k);
	else
		memcpy(out, json_string_value(v), json_string_length(v) + 1);
}

static void get_strk(struct pj *p, json_t *o, const char *k, char *out, size_t n)
{
	get_str(p, field(p, o, k), k, out, n);
}

static void get_dup(struct pj *p, json_t *o, const char *k, char **out)
{
	json_t *v = field(p, o, k);
	*out = NULL;
	if (!v)
		return;
	if (!json_is_string(v)) {
		bad(p, k);
	} else if (!(*out = strdup(json_string_value(v)))) {
		if (!p->rc)
			p->rc = CF_ENOMEM;
	}
}

/* An object, an array or nothing (absent or null). */
static json_t *get_kind(struct pj *p, json_t *o, const char *k, int array)
{
	json_t *v = field(p, o, k);
	if (v && (array ? !json_is_array(v) : !json_is_object(v))) {
		bad(p, k);
		return NULL;
	}
	return v;
}

static void parse_run(struct pj *p, json_t *o, struct state_run *r)
{
	get_u64(p, o, "run", &r->run);
	get_time(p, o, "start", &r->start);
	get_strk(p, o, "time", r->time, sizeof r->time);
	get_strk(p, o, "result", r->result, sizeof r->result);
	get_strk(p, o, "snapshot", r->snapshot, sizeof r->snapshot);
	get_u64(p, o, "files", &r->files);
	get_u64(p, o, "files_new", &r->files_new);
	get_u64(p, o, "files_changed", &r->files_changed);
	get_u64(p, o, "bytes_read", &r->bytes_read);
	get_u64(p, o, "bytes_added", &r->bytes_added);
	get_u64(p, o, "entries", &r->entries);
	get_u64(p, o, "dirs_reused", &r->dirs_reused);
	get_u64(p, o, "suspect_format", &r->suspect_format);
	get_u64(p, o, "suspect_random", &r->suspect_random);
	get_u64(p, o, "suspect_notes", &r->suspect_notes);
	get_strk(p, o, "suspect_path", r->suspect_path, sizeof r->suspect_path);
	get_u64(p, o, "warnings", &r->warnings);
	get_real(p, o, "duration", &r->duration);
	get_bool(p, o, "full_scan", &r->full_scan);
	get_strk(p, o, "error", r->error, sizeof r->error);
	get_strk(p, o, "missing", r->missing, sizeof r->missing);
	json_t *wl = get_kind(p, o, "warning_messages", 1);
	if (json_array_size(wl) > STATE_WARN_KEPT)
		bad(p, "warning_messages");
	for (size_t i = 0; !p->rc && i < json_array_size(wl); i++)
		get_str(p, json_array_get(wl, i), "warning_messages", r->warn[r->nwarn++],
			sizeof r->warn[0]);
	get_bool(p, o, "retention", &r->retention);
	get_strk(p, o, "retention_error", r->retention_error, sizeof r->retention_error);
	get_u64(p, o, "spool_cleared", &r->spool_cleared);
	get_strk(p, o, "spool_clear_error", r->spool_clear_error, sizeof r->spool_clear_error);
}

static void parse_dest(struct pj *p, json_t *e, struct state_dest *ds)
{
	if (!json_is_object(e)) {
		bad(p, "destinations");
		return;
	}
	get_strk(p, e, "name", ds->name, sizeof ds->name);
	get_strk(p, e, "url", ds->url, sizeof ds->url);
	get_strk(p, e, "result", ds->result, sizeof ds->result);
	get_time(p, e, "last_attempt", &ds->last_attempt);
	get_time(p, e, "last_complete", &ds->last_complete);
	get_time(p, e, "pending_since", &ds->pending_since);
	get_u64(p, e, "pending_objects", &ds->pending);
	get_u64(p, e, "pending_bytes", &ds->pending_bytes);
	get_u64(p, e, "sent", &ds->sent);
	get_u64(p, e, "sent_bytes", &ds->sent_bytes);
	get_bool(p, e, "object_lock", &ds->object_lock);
	get_strk(p, e, "lock_note", ds->lock_note, sizeof ds->lock_note);
	get_strk(p, e, "error", ds->error, sizeof ds->error);
	get_u64(p, e, "removed_snapshots", &ds->removed_snapshots);
	get_u64(p, e, "lock_waiting", &ds->lock_waiting);
	get_u64(p, e, "denied", &ds->denied);
	get_u64(p, e, "thinned", &ds->thinned);
	get_bool(p, e, "too_small", &ds->too_small);
	get_time(p, e, "lock_until", &ds->lock_until);
	get_bool(p, e, "lock_failed", &ds->lock_failed);
	json_t *dr = get_kind(p, e, "drill", 0);
	if (dr) {
		get_strk(p, dr, "result", ds->drill_result, sizeof ds->drill_result);
		get_time(p, dr, "time", &ds->drill_time);
		get_time(p, dr, "last_ok", &ds->drill_last_ok);
		get_u64(p, dr, "files", &ds->drill_files);
		get_u64(p, dr, "bytes", &ds->drill_bytes);
		get_u64(p, dr, "failures", &ds->drill_failures);
		get_real(p, dr, "seconds", &ds->drill_seconds);
		get_real(p, dr, "throughput", &ds->drill_throughput);
		get_real(p, dr, "full_restore_estimate", &ds->drill_estimate);
		get_strk(p, dr, "error", ds->drill_error, sizeof ds->drill_error);
		get_time(p, dr, "full_time", &ds->drill_full_time);
		get_u64(p, dr, "databases_too_big", &ds->drill_db_too_big);
	}
}

static void parse_progress(struct pj *p, json_t *c, struct state_progress *g)
{
	get_strk(p, c, "current", g->current, sizeof g->current);
	get_u64(p, c, "run", &g->run);
	get_time(p, c, "start", &g->start);
	get_bool(p, c, "full_scan", &g->full_scan);
	get_u64(p, c, "files", &g->files);
	get_u64(p, c, "entries", &g->entries);
	get_u64(p, c, "bytes_read", &g->bytes_read);
	get_u64(p, c, "bytes_added", &g->bytes_added);
	get_real(p, c, "duration", &g->duration);
}

static void parse_lists(struct pj *p, json_t *o, struct state_status *s)
{
	json_t *wl = get_kind(p, o, "watched", 1);
	size_t n = json_array_size(wl);
	if (n && !(s->watched = calloc(n, sizeof *s->watched)) && !p->rc)
		p->rc = CF_ENOMEM;
	for (size_t i = 0; !p->rc && i < n; i++) {
		json_t *e = json_array_get(wl, i);
		if (!json_is_object(e)) {
			bad(p, "watched");
			break;
		}
		s->nwatched++;
		get_dup(p, e, "path", &s->watched[i].path);
		get_strk(p, e, "state", s->watched[i].state, sizeof s->watched[i].state);
	}
	json_t *dl = get_kind(p, o, "destinations", 1);
	n = json_array_size(dl);
	if (n > STATE_MAX_DESTS)
		bad(p, "destinations");
	else if (n && !(s->dests = calloc(n, sizeof *s->dests)) && !p->rc)
		p->rc = CF_ENOMEM;
	for (size_t i = 0; !p->rc && i < n; i++) {
		s->ndests++;
		parse_dest(p, json_array_get(dl, i), &s->dests[i]);
	}
}

static void parse_status(struct pj *p, json_t *o, struct state_status *s)
{
	uint64_t pid;
	get_strk(p, o, "state", s->state, sizeof s->state);
	get_u64(p, o, "pid", &pid);
	s->pid = (int64_t)pid;
	get_u64(p, o, "runs", &s->runs);
	json_t *c = get_kind(p, o, "running", 0);
	if ((s->running = c != NULL))
		parse_progress(p, c, &s->progress);
	get_bool(p, o, "backup_requested", &s->backup_requested);
	get_dup(p, o, "config", &s->config);
	get_dup(p, o, "repository", &s->repository);
	get_strk(p, o, "schedule", s->schedule, sizeof s->schedule);
	json_t *lb = get_kind(p, o, "last_backup", 0);
	if ((s->has_last = lb != NULL))
		parse_run(p, lb, &s->last);
	get_time(p, o, "last_success", &s->last_success);
	get_time(p, o, "next_backup", &s->next_backup);
	get_bool(p, o, "retry", &s->retry);
	get_strk(p, o, "next_backup_time", s->next_backup_time, sizeof s->next_backup_time);
	json_t *pe = get_kind(p, o, "pending", 0);
	get_u64(p, pe, "dirty_folders", &s->dirty_folders);
	get_bool(p, pe, "full_scan", &s->full_scan_due);
	get_time(p, pe, "last_change", &s->last_change);
	get_u64(p, o, "watches", &s->watches);
	get_bool(p, o, "watch_incomplete", &s->watch_incomplete);
	get_u64(p, o, "unwatched_folders", &s->unwatched_folders);
	get_u64(p, o, "overflows", &s->overflows);
	get_time(p, o, "last_full_scan", &s->last_full_scan);
	get_bool(p, o, "next_is_push_retry", &s->next_is_push_retry);
	get_bool(p, o, "clear_spool", &s->clear_spool);
	get_time(p, o, "last_retention", &s->last_retention);
	json_t *al = get_kind(p, o, "alarm", 0);
	if ((s->alarm.active = al != NULL)) {
		time_t t;
		uint64_t v;
		get_time(p, al, "since", &t);
		s->alarm.since = t;
		get_time(p, al, "raised", &t);
		s->alarm.raised = t;
		get_time(p, al, "clean_time", &t);
		s->alarm.clean_time = t;
		get_u64(p, al, "kinds", &v);
		s->alarm.kinds = (unsigned)v;
		get_u64(p, al, "touched", &s->alarm.touched);
		v = 0;
		get_u64(p, al, "raised_ms", &v);
		s->alarm.raised_ms = (int64_t)(v < INT64_MAX ? v : 0);
		get_strk(p, al, "first_path", s->alarm.first_path, sizeof s->alarm.first_path);
		get_strk(p, al, "clean_snapshot", s->alarm.clean, sizeof s->alarm.clean);
	}
	json_t *alv = get_kind(p, o, "alerts", 1);
	size_t ai;
	json_t *ae;
	json_array_foreach(alv, ai, ae) {
		if (s->nalerts >= STATE_ALERTS_MAX) {
			bad(p, "alerts");
			break;
		}
		struct state_alert *x = &s->alerts[s->nalerts++];
		get_strk(p, ae, "condition", x->cond, sizeof x->cond);
		get_time(p, ae, "since", &x->since);
		get_strk(p, ae, "message", x->message, sizeof x->message);
	}
	json_t *q = get_kind(p, o, "alert_queue", 0);
	if (q) {
		get_u64(p, q, "waiting", &s->alerts_waiting);
		get_strk(p, q, "last_error", s->alerts_error, sizeof s->alerts_error);
	}
	json_t *pg = get_kind(p, o, "status_page", 0);
	uint64_t port = 0;
	get_u64(p, pg, "port", &port);
	s->page_port = port <= 65535 ? (int)port : 0;
	get_strk(p, pg, "token_file", s->page_token_file, sizeof s->page_token_file);
	parse_lists(p, o, s);
}

/* The JSON object in ${len} bytes, or NULL with ${err} set. */
static json_t *load(const char *bytes, size_t len, const char *what, struct cf_error *err)
{
	json_error_t je;
	if (len > STATE_STATUS_MAX) {
		cf_error_set(err, CF_ECORRUPT, "not %s: over %u bytes", what, STATE_STATUS_MAX);
		return NULL;
	}
	json_t *j = json_loadb(bytes, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(j)) {
		cf_error_set(err, CF_ECORRUPT, "not %s: %s", what, j ? "not an object" : je.text);
		json_decref(j);
		return NULL;
	}
	return j;
}

static int parsed(struct pj *p, const char *what, struct cf_error *err)
{
	if (p->rc == CF_ENOMEM)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	if (p->rc)
		return cf_error_set(err, p->rc, "not %s: bad '%s'", what, p->key);
	return 0;
}

int state_status_parse(const char *bytes, size_t len, struct state_status *ret,
	struct cf_error *err)
{
	json_t *j = load(bytes, len, "a status", err);
	if (!j)
		return CF_ECORRUPT;
	struct state_status s = { 0 };
	struct pj p = { 0 };
	parse_status(&p, j, &s);
	json_decref(j);
	int rc = parsed(&p, "a status", err);
	if (rc)
		state_status_release(&s);
	else
		*ret = s;
	return rc;
}

int state_status_read(const char *path, struct state_status *ret, struct cf_error *err)
{
	struct buf b = { 0 };
	int rc = util_read_file(path, STATE_STATUS_MAX, &b, err);
	if (rc == 0)
		rc = state_status_parse((const char *)b.p, b.len, ret, err);
	buf_free(&b);
	return rc;
}

void state_status_release(struct state_status *s)
{
	for (size_t i = 0; i < s->nwatched; i++)
		free(s->watched[i].path);
	free(s->watched);
	free(s->dests);
	free(s->config);
	free(s->repository);
	memset(s, 0, sizeof *s);
}

int state_ack_parse(const char *bytes, size_t len, struct state_ack *ret,
	struct cf_error *err)
{
	json_t *j = load(bytes, len, "a reply", err);
	if (!j)
		return CF_ECORRUPT;
	struct state_ack a = { 0 };
	struct pj p = { 0 };
	get_bool(&p, j, "ok", &a.ok);
	get_u64(&p, j, "run", &a.run);
	get_bool(&p, j, "after_running", &a.after_running);
	get_strk(&p, j, "error", a.error, sizeof a.error);
	json_decref(j);
	int rc = parsed(&p, "a reply", err);
	if (rc == 0)
		*ret = a;
	return rc;
}

/* ---- history ---- */
