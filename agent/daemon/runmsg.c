/* runmsg.c: the messages of a run's process to the daemon, "v1 KIND JSON\n" (runmsg.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "coffre/error.h"
#include "coffre/runmsg.h"
#include "base/util.h"

static const char *const kinds[_RUNMSG_KIND_MAX] = {
	[RUNMSG_PROGRESS] = "progress",
	[RUNMSG_PHASE] = "phase",
	[RUNMSG_DEST] = "dest",
	[RUNMSG_RESULT] = "result",
};

/* The fields of a struct, by offset: one table per struct serves both directions. */
enum ftype { F_U64, F_TIME, F_INT, F_U32, F_DBL, F_STR };
struct field {
	const char *name;
	enum ftype type;
	size_t off, size;
};
#define FLD(S, m, t) { #m, t, offsetof(S, m), sizeof ((S *)0)->m }

static const struct field progress_fields[] = {
	FLD(struct runmsg_progress, files_new, F_U64),
	FLD(struct runmsg_progress, files_changed, F_U64),
	FLD(struct runmsg_progress, files_unchanged, F_U64),
	FLD(struct runmsg_progress, entries, F_U64),
	FLD(struct runmsg_progress, bytes_read, F_U64),
	FLD(struct runmsg_progress, bytes_added, F_U64),
	FLD(struct runmsg_progress, duration, F_DBL),
	FLD(struct runmsg_progress, current, F_STR),
	{ 0 }
};

static const struct field dest_fields[] = {
	FLD(struct state_dest, name, F_STR),
	FLD(struct state_dest, url, F_STR),
	FLD(struct state_dest, result, F_STR),
	FLD(struct state_dest, last_attempt, F_TIME),
	FLD(struct state_dest, last_complete, F_TIME),
	FLD(struct state_dest, pending_since, F_TIME),
	FLD(struct state_dest, sent, F_U64),
	FLD(struct state_dest, sent_bytes, F_U64),
	FLD(struct state_dest, pending, F_U64),
	FLD(struct state_dest, pending_bytes, F_U64),
	FLD(struct state_dest, object_lock, F_INT),
	FLD(struct state_dest, lock_note, F_STR),
	FLD(struct state_dest, error, F_STR),
	FLD(struct state_dest, removed_snapshots, F_U64),
	FLD(struct state_dest, lock_waiting, F_U64),
	FLD(struct state_dest, denied, F_U64),
	FLD(struct state_dest, thinned, F_U64),
	FLD(struct state_dest, too_small, F_INT),
	FLD(struct state_dest, lock_until, F_TIME),
	FLD(struct state_dest, lock_failed, F_INT),
	FLD(struct state_dest, drill_result, F_STR),
	FLD(struct state_dest, drill_time, F_TIME),
	FLD(struct state_dest, drill_last_ok, F_TIME),
	FLD(struct state_dest, drill_files, F_U64),
	FLD(struct state_dest, drill_bytes, F_U64),
	FLD(struct state_dest, drill_failures, F_U64),
	FLD(struct state_dest, drill_seconds, F_DBL),
	FLD(struct state_dest, drill_throughput, F_DBL),
	FLD(struct state_dest, drill_estimate, F_DBL),
	FLD(struct state_dest, drill_error, F_STR),
	FLD(struct state_dest, drill_full_time, F_TIME),
	FLD(struct state_dest, drill_db_too_big, F_U64),
	{ 0 }
};

/* The warnings (nwarn, warn[]) travel as one array, apart. */
static const struct field run_fields[] = {
	FLD(struct state_run, run, F_U64),
	FLD(struct state_run, start, F_TIME),
	FLD(struct state_run, time, F_STR),
	FLD(struct state_run, duration, F_DBL),
	FLD(struct state_run, result, F_STR),
	FLD(struct state_run, snapshot, F_STR),
	FLD(struct state_run, files, F_U64),
	FLD(struct state_run, files_new, F_U64),
	FLD(struct state_run, files_changed, F_U64),
	FLD(struct state_run, bytes_read, F_U64),
	FLD(struct state_run, bytes_added, F_U64),
	FLD(struct state_run, entries, F_U64),
	FLD(struct state_run, dirs_reused, F_U64),
	FLD(struct state_run, suspect_format, F_U64),
	FLD(struct state_run, suspect_random, F_U64),
	FLD(struct state_run, suspect_notes, F_U64),
	FLD(struct state_run, suspect_path, F_STR),
	FLD(struct state_run, warnings, F_U64),
	FLD(struct state_run, full_scan, F_INT),
	FLD(struct state_run, error, F_STR),
	FLD(struct state_run, missing, F_STR),
	FLD(struct state_run, retention, F_INT),
	FLD(struct state_run, retention_error, F_STR),
	FLD(struct state_run, spool_cleared, F_U64),
	FLD(struct state_run, spool_clear_error, F_STR),
	{ 0 }
};

/* ---- encoding ---- */

/* A string as JSON: itself when it is UTF-8, else {"hex": "..."}. */
static json_t *str_json(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	json_t *v = json_stringn(s, len);
	if (v)
		return v;
	char *hex = malloc(2 * len + 1);
	if (!hex)
		return NULL;
	util_hex(hex, (const uint8_t *)s, len);
	v = json_pack("{s:s}", "hex", hex);
	free(hex);
	return v;
}

/* Sets ${*bad} when a value could not be made (out of memory). */
static json_t *fields_json(const struct field *f, const void *base, int *bad)
{
	json_t *o = json_object();
	if (!o) {
		*bad = 1;
		return NULL;
	}
	for (; f->name; f++) {
		const char *p = (const char *)base + f->off;
		json_t *v = NULL;
		switch (f->type) {
		case F_U64: {
			uint64_t x;
			memcpy(&x, p, sizeof x);
			/* JSON integers are signed: the bits travel as they are. */
			v = json_integer((json_int_t)x);
			break;
		}
		case F_TIME: {
			time_t x;
			memcpy(&x, p, sizeof x);
			v = json_integer((json_int_t)x);
			break;
		}
		case F_INT: {
			int x;
			memcpy(&x, p, sizeof x);
			v = json_integer(x);
			break;
		}
		case F_U32: {
			uint32_t x;
			memcpy(&x, p, sizeof x);
			v = json_integer(x);
			break;
		}
		case F_DBL: {
			double x;
			memcpy(&x, p, sizeof x);
			v = json_real(x);
			break;
		}
		case F_STR:
			v = str_json(p, f->size);
			break;
		}
		if (!v || json_object_set_new(o, f->name, v))
			*bad = 1;
	}
	return o;
}

static json_t *msg_json(const struct runmsg *m, int *bad)
{
	json_t *o = NULL;
	switch (m->kind) {
	case RUNMSG_PROGRESS:
		return fields_json(progress_fields, &m->u.progress, bad);
	case RUNMSG_PHASE:
		o = json_object();
		if (!o || json_object_set_new(o, "phase", str_json(m->u.phase, sizeof m->u.phase)))
			*bad = 1;
		return o;
	case RUNMSG_DEST:
		o = fields_json(dest_fields, &m->u.dest.d, bad);
		if (o && json_object_set_new(o, "index", json_integer(m->u.dest.index)))
			*bad = 1;
		return o;
	case RUNMSG_RESULT: {
		const struct state_run *s = &m->u.result.s;
		o = fields_json(run_fields, s, bad);
		json_t *w = json_array();
		for (int i = 0; w && i < s->nwarn && i < STATE_WARN_KEPT; i++)
			if (json_array_append_new(w, str_json(s->warn[i], sizeof s->warn[i])))
				*bad = 1;
		if (!o || !w || json_object_set_new(o, "warn", w) ||
		    json_object_set_new(o, "code", json_integer(m->u.result.code)))
			*bad = 1;
		return o;
	}
	default:
		*bad = 1;
		return NULL;
	}
}

int runmsg_format(const struct runmsg *m, char *buf, size_t cap, size_t *ret_len,
	struct cf_error *err)
{
	if (m->kind < 0 || m->kind >= _RUNMSG_KIND_MAX)
		return cf_error_set(err, CF_EUSAGE, "unknown kind of message %d", (int)m->kind);
	int bad = 0;
	json_t *o = msg_json(m, &bad);
	char *text = o && !bad ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int n = snprintf(buf, cap, "v%d %s %s\n", RUNMSG_VERSION, kinds[m->kind], text);
	free(text);
	if (n < 0 || (size_t)n >= cap || (size_t)n > RUNMSG_MAX)
		return cf_error_set(err, CF_EUSAGE, "a %s message over %u bytes", kinds[m->kind],
			RUNMSG_MAX);
	*ret_len = (size_t)n;
	return 0;
}

/* ---- decoding ---- */

/* Fills the fields of ${f} found in ${o}; absent ones stay zero. Returns 0 or -1 (a wrong
 * type, a string too long, a number out of range). */
static int fields_parse(const struct field *f, json_t *o, void *base)
{
	for (; f->name; f++) {
		char *p = (char *)base + f->off;
		json_t *v = json_object_get(o, f->name);
		if (!v)
			continue;
		if (f->type == F_STR) {
			json_t *h = json_is_object(v) ? json_object_get(v, "hex") : NULL;
			if (json_is_string(v)) {
				size_t len = json_string_length(v);
				const char *s = json_string_value(v);
				if (len >= f->size || memchr(s, 0, len))
					return -1;
				memcpy(p, s, len + 1);
			} else if (json_is_string(h) && json_object_size(v) == 1) {
				size_t len = json_string_length(h);
				if (len % 2 || len / 2 >= f->size ||
				    util_unhex((uint8_t *)p, len / 2, json_string_value(h)) ||
				    memchr(p, 0, len / 2))
					return -1;
				p[len / 2] = 0;
			} else {
				return -1;
			}
			continue;
		}
		if (f->type == F_DBL) {
			if (!json_is_number(v))
				return -1;
			double x = json_number_value(v);
			memcpy(p, &x, sizeof x);
			continue;
		}
		if (!json_is_integer(v))
			return -1;
		json_int_t x = json_integer_value(v);
		if (f->type == F_U64) {
			uint64_t u = (uint64_t)x;
			memcpy(p, &u, sizeof u);
		} else if (f->type == F_TIME) {
			time_t t = (time_t)x;
			memcpy(p, &t, sizeof t);
		} else if (f->type == F_INT) {
			if (x < -2147483647 - 1 || x > 2147483647)
				return -1;
			int i = (int)x;
			memcpy(p, &i, sizeof i);
		} else {
			if (x < 0 || x > 0xffffffff)
				return -1;
			uint32_t u = (uint32_t)x;
			memcpy(p, &u, sizeof u);
		}
	}
	return 0;
}

static int parse_body(enum runmsg_kind kind, json_t *o, struct runmsg *m)
{
	static const struct field phase_field[] = {
		{ "phase", F_STR, offsetof(struct runmsg, u.phase), sizeof m->u.phase }, { 0 }
	};
	static const struct field index_field[] = {
		{ "index", F_U32, offsetof(struct runmsg, u.dest.index), sizeof(uint32_t) }, { 0 }
	};
	static const struct field code_field[] = {
		{ "code", F_INT, offsetof(struct runmsg, u.result.code), sizeof(int) }, { 0 }
	};
	m->kind = kind;
	switch (kind) {
	case RUNMSG_PROGRESS:
		return fields_parse(progress_fields, o, &m->u.progress);
	case RUNMSG_PHASE:
		return fields_parse(phase_field, o, m);
	case RUNMSG_DEST:
		return fields_parse(dest_fields, o, &m->u.dest.d) || fields_parse(index_field, o, m) ?
			-1 : 0;
	case RUNMSG_RESULT: {
		struct state_run *s = &m->u.result.s;
		if (fields_parse(run_fields, o, s) || fields_parse(code_field, o, m))
			return -1;
		json_t *w = json_object_get(o, "warn");
		if (!w)
			return 0;
		if (!json_is_array(w) || json_array_size(w) > STATE_WARN_KEPT)
			return -1;
		for (size_t i = 0; i < json_array_size(w); i++) {
			json_t *one = json_object();
			if (!one)
				return -1;
			json_object_set(one, "w", json_array_get(w, i));
			const struct field wf[] = {
				{ "w", F_STR, offsetof(struct state_run, warn[0]) + i * sizeof s->warn[0],
					sizeof s->warn[0] }, { 0 }
			};
			int rc = fields_parse(wf, one, s);
			json_decref(one);
			if (rc)
				return -1;
			s->nwarn++;
		}
		return 0;
	}
	default:
		return -1;
	}
}

int runmsg_parse(const char *bytes, size_t len, struct runmsg *ret, struct cf_error *err)
{
	if (len > RUNMSG_MAX)
		return cf_error_set(err, CF_ECORRUPT, "a message over %u bytes", RUNMSG_MAX);
	if (len && bytes[len - 1] == '\n')
		len--;
	const char *sp = memchr(bytes, ' ', len);
	if (len < 2 || bytes[0] != 'v' || !sp)
		return cf_error_set(err, CF_ECORRUPT, "not a message");
	if ((size_t)(sp - bytes) != 2 || bytes[1] != '0' + RUNMSG_VERSION)
		return cf_error_set(err, CF_ECORRUPT, "a message of another version ('%.*s')",
			(int)(sp - bytes < 16 ? sp - bytes : 16), bytes);
	const char *k = sp + 1, *end = bytes + len;
	const char *ksp = memchr(k, ' ', (size_t)(end - k));
	if (!ksp)
		return cf_error_set(err, CF_ECORRUPT, "not a message");
	enum runmsg_kind kind = _RUNMSG_KIND_INVALID;
	for (int i = 0; i < _RUNMSG_KIND_MAX; i++)
		if (strlen(kinds[i]) == (size_t)(ksp - k) && memcmp(kinds[i], k, ksp - k) == 0)
			kind = (enum runmsg_kind)i;
	if (kind == _RUNMSG_KIND_INVALID)
		return cf_error_set(err, CF_ECORRUPT, "an unknown kind of message");
	json_error_t je;
	json_t *o = json_loadb(ksp + 1, (size_t)(end - ksp - 1), JSON_REJECT_DUPLICATES, &je);
	if (!o || !json_is_object(o)) {
		json_decref(o);
		return cf_error_set(err, CF_ECORRUPT, "a %s message that is not a JSON object",
			kinds[kind]);
	}
	struct runmsg *m = calloc(1, sizeof *m);
	if (!m) {
		json_decref(o);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	int rc = parse_body(kind, o, m);
	json_decref(o);
	if (rc == 0)
		*ret = *m;
	free(m);
	if (rc)
		return cf_error_set(err, CF_ECORRUPT, "a %s message with a wrong field", kinds[kind]);
	return 0;
}

/* ---- the daemon's buffer ---- */

char *runmsg_buf_space(struct runmsg_buf *b, size_t *ret_len)
{
	*ret_len = sizeof b->b - b->n;
	return b->b + b->n;
}

void runmsg_buf_fill(struct runmsg_buf *b, size_t n)
{
	b->n += n;
}

int runmsg_buf_take(struct runmsg_buf *b, struct runmsg *ret, struct cf_error *err)
{
	const char *nl = memchr(b->b, '\n', b->n);
	if (!nl) {
		if (b->n < sizeof b->b)
			return 0;
		b->n = 0;
		return cf_error_set(err, CF_ECORRUPT, "a message over %u bytes", RUNMSG_MAX);
	}
	size_t len = (size_t)(nl - b->b) + 1;
	int rc = runmsg_parse(b->b, len, ret, err);
	memmove(b->b, b->b + len, b->n - len);
	b->n -= len;
	return rc ? rc : 1;
}
