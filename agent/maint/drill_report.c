/* drill_report.c: a drill's report: failures, warnings, and its JSON form. */
#include "maint/drill_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "coffre/error.h"

static const char *const kind_names[_DRILL_F_MAX] = {
	[DRILL_F_CONTENT] = "content",
	[DRILL_F_MISSING_PACK] = "missing_pack",
	[DRILL_F_DAMAGED_PACK] = "damaged_pack",
	[DRILL_F_INDEX] = "index",
	[DRILL_F_TREE] = "tree",
	[DRILL_F_SNAPSHOT] = "snapshot",
	[DRILL_F_SQLITE] = "sqlite",
	[DRILL_F_LIVE] = "live",
	[DRILL_F_METADATA] = "metadata",
	[DRILL_F_REFUSED] = "refused",
	[DRILL_F_OTHER] = "other",
	[DRILL_F_DUMP] = "dump",
};

const char *drill_failure_kind_str(int kind)
{
	return kind > 0 && kind < _DRILL_F_MAX ? kind_names[kind] : "other";
}

int drill_classify(const char *msg)
{
	/* The restore's words (restore_write.c, restore_verify.c, blob_reader.c, pack_read.c). */
	if (strncmp(msg, "verify:", 7) == 0)
		return DRILL_F_CONTENT;
	if (strncmp(msg, "refused", 7) == 0)
		return DRILL_F_REFUSED;
	if (strstr(msg, "is missing"))
		return DRILL_F_MISSING_PACK;
	if (strstr(msg, "not in the index"))
		return DRILL_F_INDEX;
	if (strstr(msg, "pack"))
		return DRILL_F_DAMAGED_PACK;
	return DRILL_F_OTHER;
}

static int grow(void **v, size_t n, size_t size)
{
	/* Arrays grow in powers of two: reallocated when ${n} reaches one. */
	if (n & (n - 1) || (n && n < 8))
		return 0;
	void *p = realloc(*v, (n ? 2 * n : 8) * size);
	if (!p)
		return -1;
	*v = p;
	return 0;
}

int drill_fail(struct drill_report *r, int kind, const char *snapshot, const char *path,
	const char *msg)
{
	r->nfailures++;
	r->ok = 0;
	if (r->nlisted >= DRILL_MAX_FAILURES)
		return 0;
	if (grow((void **)&r->failures, r->nlisted, sizeof *r->failures))
		return CF_ENOMEM;
	struct drill_failure *f = &r->failures[r->nlisted];
	memset(f, 0, sizeof *f);
	f->kind = kind;
	if (snapshot)
		snprintf(f->snapshot, sizeof f->snapshot, "%s", snapshot);
	f->path = strdup(path ? path : "");
	f->msg = strdup(msg ? msg : "");
	if (!f->path || !f->msg) {
		free(f->path);
		free(f->msg);
		return CF_ENOMEM;
	}
	r->nlisted++;
	return 0;
}

static int add_str(char ***v, size_t *n, char *s)
{
	if (!s || grow((void **)v, *n, sizeof **v)) {
		free(s);
		return CF_ENOMEM;
	}
	(*v)[(*n)++] = s;
	return 0;
}

int drill_warn(struct drill_report *r, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return add_str(&r->warnings, &r->nwarnings, n < 0 ? NULL : s);
}

int drill_dump_add(struct drill_report *r, const struct drill_dump *d)
{
	if (grow((void **)&r->dumps, r->ndumps, sizeof *r->dumps))
		return CF_ENOMEM;
	struct drill_dump *c = &r->dumps[r->ndumps];
	*c = *d;
	c->path = strdup(d->path);
	c->note = strdup(d->note ? d->note : "");
	if (!c->path || !c->note) {
		free(c->path);
		free(c->note);
		return CF_ENOMEM;
	}
	r->ndumps++;
	r->dumps_loaded += d->proof == DRILL_DUMP_LOADED;
	r->dumps_trailer += d->proof == DRILL_DUMP_TRAILER;
	r->load_seconds += d->load_seconds;
	return 0;
}

int drill_list(struct drill_report *r, const char *path)
{
	return add_str(&r->drilled, &r->ndrilled, strdup(path));
}

void drill_report_free(struct drill_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nlisted; i++) {
		free(r->failures[i].path);
		free(r->failures[i].msg);
	}
	for (size_t i = 0; i < r->nwarnings; i++)
		free(r->warnings[i]);
	for (size_t i = 0; i < r->ndrilled; i++)
		free(r->drilled[i]);
	for (size_t i = 0; i < r->ndumps; i++) {
		free(r->dumps[i].path);
		free(r->dumps[i].note);
	}
	free(r->dumps);
	free(r->failures);
	free(r->warnings);
	free(r->drilled);
	free(r->destination);
	free(r->url);
	free(r);
}

/* A JSON string for bytes that may not be UTF-8 (a path): bad bytes as U+FFFD. */
static json_t *jstr(const char *s)
{
	json_t *j = json_string(s);
	if (j)
		return j;
	char *t = strdup(s);
	if (!t)
		return NULL;
	for (char *p = t; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(t);
	free(t);
	return j;
}

static json_t *jstrs(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, jstr(v[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *jhex(const char *hex)
{
	return *hex ? json_string(hex) : json_null();
}

static json_t *jdumps(const struct drill_report *r)
{
	static const char *const proofs[] = { [DRILL_DUMP_TRAILER] = "trailer",
		[DRILL_DUMP_LOADED] = "loaded", [DRILL_DUMP_FAILED] = "failed" };
	json_t *a = json_array();
	for (size_t i = 0; a && i < r->ndumps; i++) {
		const struct drill_dump *d = &r->dumps[i];
		const char *proof = d->proof >= DRILL_DUMP_TRAILER && d->proof <= DRILL_DUMP_FAILED ?
			proofs[d->proof] : "failed";
		json_t *j = json_pack("{s:o, s:o, s:s, s:I, s:I, s:I, s:f, s:o}", "path",
			jstr(d->path), "snapshot", jhex(d->snapshot), "proof", proof, "bytes",
			(json_int_t)d->bytes, "create_tables", (json_int_t)d->creates, "tables",
			(json_int_t)d->tables, "load_seconds", d->load_seconds, "note", jstr(d->note));
		if (!j || json_array_append_new(a, j)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

int drill_report_json(const struct drill_report *r, char **ret_text)
{
	const char *result = r->code ? "error" : r->ok ? "ok" : "failed";
	json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:b, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I, "
			      "s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:I, s:I}",
		"destination", r->destination ? r->destination : "", "url", r->url ? r->url : "",
		"result", result, "ok", r->ok && !r->code, "full", r->full, "started",
		(json_int_t)r->started, "seconds", r->seconds, "budget", (json_int_t)r->budget,
		"bytes_selected", (json_int_t)r->bytes_selected, "bytes_metadata",
		(json_int_t)r->bytes_metadata, "bytes_fetched", (json_int_t)r->bytes_fetched,
		"files", (json_int_t)r->files, "bytes", (json_int_t)r->bytes, "snapshot_files",
		(json_int_t)r->snapshot_files, "snapshot_bytes", (json_int_t)r->snapshot_bytes,
		"sqlite_checked", (json_int_t)r->sqlite_checked, "live_compared",
		(json_int_t)r->live_compared, "metadata_checked", (json_int_t)r->metadata_checked,
		"throughput", r->throughput, "estimate_full_restore_seconds",
		r->estimate_full_restore_seconds, "snapshot_time", (json_int_t)r->snapshot_time,
		"failure_count", (json_int_t)r->nfailures);
	json_t *chosen = json_pack("{s:I, s:I, s:I, s:I}", "databases",
		(json_int_t)r->chosen.databases, "changed", (json_int_t)r->chosen.changed,
		"rotation", (json_int_t)r->chosen.rotation, "oldest", (json_int_t)r->chosen.oldest);
	json_t *fails = json_array();
	int bad = !o || !chosen || !fails;
	for (size_t i = 0; !bad && i < r->nlisted; i++) {
		const struct drill_failure *f = &r->failures[i];
		json_t *j = json_pack("{s:s, s:o, s:o, s:o}", "kind", drill_failure_kind_str(f->kind),
			"snapshot", jhex(f->snapshot), "path", jstr(f->path), "message",
			jstr(f->msg));
		bad |= !j || json_array_append_new(fails, j);
	}
	if (!bad) {
		bad |= json_object_set_new(o, "chosen", chosen);
		chosen = NULL;
		bad |= json_object_set_new(o, "failures", fails);
		fails = NULL;
		bad |= json_object_set_new(o, "snapshot", jhex(r->snapshot));
		bad |= json_object_set_new(o, "oldest_snapshot", jhex(r->oldest));
		bad |= json_object_set_new(o, "too_big", json_integer((json_int_t)r->too_big));
		bad |= json_object_set_new(o, "databases_too_big",
			json_integer((json_int_t)r->databases_too_big));
		bad |= json_object_set_new(o, "warnings", jstrs(r->warnings, r->nwarnings));
		bad |= json_object_set_new(o, "dumps", jdumps(r));
		bad |= json_object_set_new(o, "dumps_loaded",
			json_integer((json_int_t)r->dumps_loaded));
		bad |= json_object_set_new(o, "dumps_trailer_only",
			json_integer((json_int_t)r->dumps_trailer));
		bad |= json_object_set_new(o, "load_seconds", json_real(r->load_seconds));
		if (r->code)
			bad |= json_object_set_new(o, "error", jstr(r->err.msg));
		if (r->drilled)
			bad |= json_object_set_new(o, "drilled", jstrs(r->drilled, r->ndrilled));
	}
	json_decref(chosen);
	json_decref(fails);
	char *t = bad ? NULL : json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(o);
	if (!t)
		return CF_ENOMEM;
	*ret_text = t;
	return 0;
}
