/* drill_state.c: the drill state of one destination: the rotation key and cursors, and what
 * the last drill found. The file is read as hostile: bounded, every field checked. */
#include "maint/drill_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "coffre/error.h"
#include "base/util.h"

#define SCRATCH_PATH_MAX 4096
/* Counters above this are not believed (no drill restores 2^53 bytes). */
#define COUNT_MAX ((json_int_t)1 << 53)

static const char *const result_names[] = { "none", "ok", "failed" };

void drill_state_fresh(struct drill_state *s)
{
	memset(s, 0, sizeof *s);
	randombytes_buf(s->key, sizeof s->key);
}

void drill_state_release(struct drill_state *s)
{
	if (!s)
		return;
	free(s->scratch);
	s->scratch = NULL;
	sodium_memzero(s->key, sizeof s->key);
}

/* A hex string of exactly ${n} bytes, or for ${empty_ok} "" (then zeros). */
static int get_hex(json_t *o, const char *key, uint8_t *out, size_t n, int empty_ok)
{
	json_t *v = json_object_get(o, key);
	const char *s = json_string_value(v);
	if (!s || json_string_length(v) != strlen(s))
		return -1;
	if (empty_ok && *s == 0) {
		memset(out, 0, n);
		return 0;
	}
	return util_unhex(out, n, s);
}

static int get_u64hex(json_t *o, const char *key, uint64_t *ret)
{
	uint8_t b[8];
	if (get_hex(o, key, b, sizeof b, 0))
		return -1;
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	*ret = v;
	return 0;
}

static int get_count(json_t *o, const char *key, uint64_t *ret)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > COUNT_MAX)
		return -1;
	*ret = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_time(json_t *o, const char *key, int64_t *ret)
{
	uint64_t v;
	if (get_count(o, key, &v))
		return -1;
	*ret = (int64_t)v;
	return 0;
}

static int get_real(json_t *o, const char *key, double *ret)
{
	json_t *v = json_object_get(o, key);
	double d = json_number_value(v);
	if (!json_is_number(v) || !isfinite(d) || d < 0 || d > 1e15)
		return -1;
	*ret = d;
	return 0;
}

int drill_state_parse(const uint8_t *bytes, size_t len, struct drill_state *ret)
{
	if (len > DRILL_STATE_MAX)
		return CF_ECORRUPT;
	json_t *o = json_loadb((const char *)bytes, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return CF_ECORRUPT;
	}
	struct drill_state s = { 0 };
	struct drill_last *l = &s.last;
	uint8_t snap[32], base[32];
	uint64_t files, bytes_, fetched, failures;
	const char *result = json_string_value(json_object_get(o, "result"));
	json_t *full = json_object_get(o, "full");
	int bad = json_integer_value(json_object_get(o, "version")) != DRILL_STATE_VERSION ||
		  get_hex(o, "key", s.key, sizeof s.key, 0) ||
		  get_u64hex(o, "cursor", &s.cursor) ||
		  get_u64hex(o, "oldest_cursor", &s.oldest_cursor) ||
		  get_hex(o, "snapshot", snap, sizeof snap, 1) ||
		  get_time(o, "snapshot_time", &s.snapshot_time) ||
		  get_hex(o, "baseline", base, sizeof base, 1) ||
		  get_time(o, "baseline_time", &s.baseline_time) || get_time(o, "when", &l->when) ||
		  get_time(o, "last_ok", &l->last_ok) || get_count(o, "files", &files) ||
		  get_count(o, "bytes", &bytes_) || get_count(o, "bytes_fetched", &fetched) ||
		  get_count(o, "failures", &failures) || get_real(o, "seconds", &l->seconds) ||
		  get_real(o, "throughput", &l->throughput) || !json_is_boolean(full) || !result;
	l->result = -1;
	for (int i = 0; !bad && i < 3; i++)
		if (strcmp(result, result_names[i]) == 0)
			l->result = i;
	bad |= l->result < 0;
	/* Optional (states written before it have none). */
	if (!bad && json_object_get(o, "full_pace") && get_real(o, "full_pace", &s.full_pace))
		bad = 1;
	if (!bad) {
		const char *h = json_string_value(json_object_get(o, "snapshot"));
		memcpy(l->snapshot, h, strlen(h) + 1);
		h = json_string_value(json_object_get(o, "baseline"));
		memcpy(s.baseline, h, strlen(h) + 1);
		l->full = json_is_true(full);
		l->files = files;
		l->bytes = bytes_;
		l->bytes_fetched = fetched;
		l->failures = failures;
	}
	/* A scratch folder recorded by a drill under way: an absolute path, removed at the next
	 * start only when its last component is what a drill names it (drill.c). */
	json_t *sc = json_object_get(o, "scratch");
	if (!bad && sc && !json_is_null(sc)) {
		const char *p = json_string_value(sc);
		if (!p || json_string_length(sc) != strlen(p) || p[0] != '/' ||
		    strlen(p) >= SCRATCH_PATH_MAX)
			bad = 1;
		else if (!(s.scratch = strdup(p))) {
			json_decref(o);
			return CF_ENOMEM;
		}
	}
	json_decref(o);
	if (bad) {
		drill_state_release(&s);
		return CF_ECORRUPT;
	}
	*ret = s;
	return 0;
}

static void u64hex(char out[17], uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
	util_hex(out, b, sizeof b);
}

int drill_state_encode(const struct drill_state *s, const char *name, const char *url,
	char **ret_text)
{
	const struct drill_last *l = &s->last;
	char key[65], cur[17], ocur[17];
	util_hex(key, s->key, sizeof s->key);
	u64hex(cur, s->cursor);
	u64hex(ocur, s->oldest_cursor);
	int r = l->result >= 0 && l->result < 3 ? l->result : 0;
	json_t *o = json_pack("{s:i, s:s?, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:s, s:I, s:I, "
			      "s:b, s:I, s:I, s:I, s:I, s:f, s:f}",
		"version", DRILL_STATE_VERSION, "destination", name, "url", url, "key", key,
		"cursor", cur, "oldest_cursor", ocur, "snapshot", l->snapshot, "snapshot_time",
		(json_int_t)s->snapshot_time, "baseline", s->baseline, "baseline_time",
		(json_int_t)s->baseline_time, "result", result_names[r], "when",
		(json_int_t)l->when, "last_ok", (json_int_t)l->last_ok, "full", l->full, "files",
		(json_int_t)l->files, "bytes", (json_int_t)l->bytes, "bytes_fetched",
		(json_int_t)l->bytes_fetched, "failures", (json_int_t)l->failures, "seconds",
		l->seconds, "throughput", l->throughput);
	sodium_memzero(key, sizeof key);
	if (o && s->scratch && json_object_set_new(o, "scratch", json_string(s->scratch)))
		json_object_clear(o);
	if (o && s->full_pace > 0 && json_object_set_new(o, "full_pace", json_real(s->full_pace)))
		json_object_clear(o);
	char *t = o && json_object_size(o) ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	if (!t)
		return CF_ENOMEM;
	*ret_text = t;
	return 0;
}

char *drill_state_id(const char *name, const char *url)
{
	uint8_t h[8];
	char hex[17], pre[49];
	crypto_generichash(h, sizeof h, (const uint8_t *)url, strlen(url), NULL, 0);
	util_hex(hex, h, sizeof h);
	const char *src = name && *name ? name : url;
	size_t n = 0;
	for (; *src && n < sizeof pre - 1; src++) {
		char c = *src;
		int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			   c == '-' || c == '_';
		/* One '_' for a run of others: "s3://host/b" reads "s3_host_b". */
		if (keep)
			pre[n++] = c;
		else if (n && pre[n - 1] != '_')
			pre[n++] = '_';
	}
	pre[n] = 0;
	return util_path("%s-%s", pre, hex);
}

int drill_state_load(const char *path, struct drill_state *ret, struct cf_error *err)
{
	struct buf b = { 0 };
	int rc = util_read_file(path, DRILL_STATE_MAX, &b, err);
	if (rc)
		return rc;
	rc = drill_state_parse(b.p, b.len, ret);
	buf_free(&b);
	if (rc == CF_ECORRUPT)
		return cf_error_set(err, rc, "the drill state '%s' is damaged", path);
	if (rc)
		return cf_error_set(err, rc, "out of memory");
	return 0;
}

int drill_state_save(const char *path, const struct drill_state *s, const char *name,
	const char *url, struct cf_error *err)
{
	char *text = NULL;
	if (drill_state_encode(s, name, url, &text))
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int rc = util_write_atomic(path, text, strlen(text), 0, err);
	free(text);
	return rc;
}

int drill_last(const char *state_dir, const char *name, const char *url, struct drill_last *ret,
	struct cf_error *err)
{
	char *id = drill_state_id(name, url);
	char *path = id ? util_path("%s/drill/%s.json", state_dir, id) : NULL;
	free(id);
	if (!path)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	struct drill_state s;
	int rc = drill_state_load(path, &s, err);
	free(path);
	if (rc)
		return rc;
	if (s.last.result == DRILL_RESULT_NONE) {
		drill_state_release(&s);
		return cf_error_set(err, CF_ENOENT, "no drill of '%s' has ended", url);
	}
	*ret = s.last;
	drill_state_release(&s);
	return 0;
}
