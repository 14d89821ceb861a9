/* poison.c: the files a run's process died on (poison.h), kept in STATE_DIR/poison.json:
 * {"suspect": {"path_hex": H, "path": P, "crashes": N},
 *  "skipped": [{"path_hex": H, "path": P, "mtime": S, "mtime_ns": NS, "ino": I}, ...]}
 * "path_hex" is the name byte for byte; "path", when it is UTF-8, is for the reader. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "coffre/error.h"
#include "coffre/poison.h"
#include "base/util.h"

struct entry {
	char *path;
	long long mtime, mtime_ns, ino;
};

struct poison {
	char *suspect;		/* NULL: none */
	int crashes;
	struct entry skipped[POISON_MAX];
	size_t n;
	int changed;
};

static char *file_path(const char *state_dir)
{
	return util_path("%s/poison.json", state_dir);
}

/* ---- reading ---- */

static char *unhex(json_t *v)
{
	const char *h = json_string_value(v);
	size_t len = h ? strlen(h) : 0;
	if (!h || len == 0 || len % 2 || len / 2 >= POISON_PATH_MAX)
		return NULL;
	char *s = malloc(len / 2 + 1);
	if (!s || util_unhex((uint8_t *)s, len / 2, h) || memchr(s, 0, len / 2) || s[0] != '/') {
		free(s);
		return NULL;
	}
	s[len / 2] = 0;
	return s;
}

static void parse(struct poison *p, json_t *o)
{
	json_t *su = json_object_get(o, "suspect");
	if (json_is_object(su)) {
		json_t *c = json_object_get(su, "crashes");
		if (json_is_integer(c) && json_integer_value(c) > 0 && json_integer_value(c) < 2 &&
		    (p->suspect = unhex(json_object_get(su, "path_hex"))))
			p->crashes = (int)json_integer_value(c);
	}
	json_t *sk = json_object_get(o, "skipped");
	for (size_t i = 0; json_is_array(sk) && i < json_array_size(sk) && p->n < POISON_MAX;
	     i++) {
		json_t *e = json_array_get(sk, i);
		json_t *m = json_object_get(e, "mtime"), *ns = json_object_get(e, "mtime_ns"),
			*ino = json_object_get(e, "ino");
		if (!json_is_integer(m) || !json_is_integer(ns) || !json_is_integer(ino))
			continue;
		char *path = unhex(json_object_get(e, "path_hex"));
		if (!path)
			continue;
		p->skipped[p->n++] = (struct entry){ path, json_integer_value(m),
			json_integer_value(ns), json_integer_value(ino) };
	}
}

int poison_load(const char *state_dir, struct poison **ret, struct cf_error *err)
{
	struct poison *p = calloc(1, sizeof *p);
	char *path = file_path(state_dir);
	if (!p || !path) {
		free(p);
		free(path);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	struct buf b = { 0 };
	int rc = util_read_file(path, POISON_FILE_MAX, &b, err);
	free(path);
	if (rc == CF_ENOENT || rc == CF_ECORRUPT)
		rc = 0;		/* nothing, or too big to be ours: start afresh */
	if (rc) {
		free(p);
		return rc;
	}
	if (b.len) {
		json_t *o = json_loadb((const char *)b.p, b.len, JSON_REJECT_DUPLICATES, NULL);
		if (json_is_object(o))
			parse(p, o);
		json_decref(o);
	}
	buf_free(&b);
	*ret = p;
	return 0;
}

void poison_free(struct poison *p)
{
	if (!p)
		return;
	free(p->suspect);
	for (size_t i = 0; i < p->n; i++)
		free(p->skipped[i].path);
	free(p);
}

/* ---- writing ---- */

static json_t *path_fields(json_t *o, const char *path)
{
	size_t len = strlen(path);
	char *hex = malloc(2 * len + 1);
	if (!o || !hex) {
		free(hex);
		json_decref(o);
		return NULL;
	}
	util_hex(hex, (const uint8_t *)path, len);
	json_object_set_new(o, "path_hex", json_string(hex));
	json_t *s = json_string(path);
	if (s)
		json_object_set_new(o, "path", s);
	free(hex);
	return o;
}

int poison_save(struct poison *p, const char *state_dir, struct cf_error *err)
{
	json_t *o = json_object(), *sk = json_array();
	int bad = !o || !sk;
	if (!bad && p->suspect) {
		json_t *su = path_fields(json_pack("{s:i}", "crashes", p->crashes), p->suspect);
		bad |= !su || json_object_set_new(o, "suspect", su);
	}
	for (size_t i = 0; !bad && i < p->n; i++) {
		const struct entry *e = &p->skipped[i];
		json_t *j = path_fields(json_pack("{s:I,s:I,s:I}", "mtime", (json_int_t)e->mtime,
			"mtime_ns", (json_int_t)e->mtime_ns, "ino", (json_int_t)e->ino), e->path);
		bad |= !j || json_array_append_new(sk, j);
	}
	if (!bad) {
		bad = json_object_set_new(o, "skipped", sk);
		sk = NULL;
	}
	char *text = bad ? NULL : json_dumps(o, JSON_INDENT(2));
	json_decref(o);
	json_decref(sk);
	char *path = file_path(state_dir);
	if (!text || !path) {
		free(text);
		free(path);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	int rc = util_write_atomic(path, text, strlen(text), 0, err);
	free(text);
	free(path);
	if (rc == 0)
		p->changed = 0;
	return rc;
}

/* ---- the bookkeeping ---- */

static int find(const struct poison *p, const char *path)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->skipped[i].path, path) == 0)
			return (int)i;
	return -1;
}

static void drop(struct poison *p, size_t i)
{
	free(p->skipped[i].path);
	p->skipped[i] = p->skipped[--p->n];
	p->changed = 1;
}

int poison_crashed(struct poison *p, const char *path)
{
	if (!path[0] || strlen(path) >= POISON_PATH_MAX || find(p, path) >= 0)
		return 0;
	p->changed = 1;
	if (!p->suspect || strcmp(p->suspect, path) != 0) {
		char *s = strdup(path);
		if (!s)
			return -1;
		free(p->suspect);
		p->suspect = s;
		p->crashes = 1;
		return 0;
	}
	/* The second in a row: skipped while it stays the same file. */
	struct stat st;
	if (lstat(path, &st) != 0)
		return 0;	/* gone meanwhile: nothing to skip */
	if (p->n == POISON_MAX)
		drop(p, 0);
	p->skipped[p->n++] = (struct entry){ p->suspect, st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		(long long)st.st_ino };
	p->suspect = NULL;
	p->crashes = 0;
	return 1;
}

void poison_run_ended(struct poison *p)
{
	if (!p->suspect)
		return;
	free(p->suspect);
	p->suspect = NULL;
	p->crashes = 0;
	p->changed = 1;
}

void poison_refresh(struct poison *p, void (*dropped)(void *ctx, const char *path), void *ctx)
{
	for (size_t i = p->n; i-- > 0;) {
		const struct entry *e = &p->skipped[i];
		struct stat st;
		if (lstat(e->path, &st) == 0 && st.st_mtim.tv_sec == e->mtime &&
		    st.st_mtim.tv_nsec == e->mtime_ns && (long long)st.st_ino == e->ino)
			continue;
		if (dropped)
			dropped(ctx, e->path);
		drop(p, i);
	}
}

size_t poison_count(const struct poison *p)
{
	return p->n;
}

const char *poison_path(const struct poison *p, size_t i)
{
	return i < p->n ? p->skipped[i].path : NULL;
}

int poison_changed(const struct poison *p)
{
	return p->changed;
}
