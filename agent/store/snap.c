/* snap.c: snapshot objects (JSON inside the sealed envelope). */
#include "coffre/snap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "coffre/dst.h"
#include "coffre/error.h"
#include "store/repo_internal.h"

#define SNAP_VERSION 1
#define SNAP_MAX_LIST 4096

void snap_free(struct snap *s)
{
	if (!s)
		return;
	free(s->hostname);
	free(s->username);
	for (size_t i = 0; i < s->npaths; i++)
		free(s->paths[i]);
	free(s->paths);
	for (size_t i = 0; i < s->ntags; i++)
		free(s->tags[i]);
	free(s->tags);
	free(s->summary);
	free(s);
}

void snap_list_free(struct snap **list, size_t n)
{
	for (size_t i = 0; list && i < n; i++)
		snap_free(list[i]);
	free(list);
}

static json_t *str_array(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

int snap_encode(const struct snap *s, char **ret_text)
{
	char tree[ID_HEX], parent[ID_HEX];
	util_hex(tree, s->tree, ID_LEN);
	json_t *o = json_object();
	json_object_set_new(o, "version", json_integer(SNAP_VERSION));
	json_object_set_new(o, "time", json_integer(s->time));
	json_object_set_new(o, "time_ns", json_integer(s->time_ns));
	json_object_set_new(o, "hostname", json_string(s->hostname ? s->hostname : ""));
	json_object_set_new(o, "username", json_string(s->username ? s->username : ""));
	json_object_set_new(o, "paths", str_array(s->paths, s->npaths));
	json_object_set_new(o, "tags", str_array(s->tags, s->ntags));
	json_object_set_new(o, "tree", json_string(tree));
	if (s->has_parent) {
		util_hex(parent, s->parent, ID_LEN);
		json_object_set_new(o, "parent", json_string(parent));
	}
	if (s->summary) {
		json_t *sum = json_loads(s->summary, 0, NULL);
		if (sum)
			json_object_set_new(o, "summary", sum);
	}
	char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (!text)
		return CF_ENOMEM;
	*ret_text = text;
	return 0;
}

int snap_write(struct repo *r, struct snap *s, struct cf_error *err)
{
	char *text = NULL;
	if (snap_encode(s, &text))
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int rc = repo_put_object(r, REPO_SNAPSHOT, text, strlen(text), s->id, err);
	free(text);
	if (rc == 0)
		util_hex(s->idhex, s->id, ID_LEN);
	return rc;
}

static int get_strs(json_t *a, char ***ret, size_t *ret_n)
{
	size_t n = json_array_size(a);
	if (n > SNAP_MAX_LIST)
		return -1;
	char **v = calloc(n ? n : 1, sizeof *v);
	if (!v)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(a, i));
		v[i] = strdup(s ? s : "");
		if (!v[i]) {
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			return -1;
		}
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int snap_parse(const void *text, size_t n, const uint8_t id[32], struct snap **ret,
	struct cf_error *err)
{
	json_error_t je;
	json_t *o = json_loadb(text, n, 0, &je);
	struct snap *s = calloc(1, sizeof *s);
	char hex[ID_HEX];
	util_hex(hex, id, ID_LEN);
	if (!o || !s)
		goto bad;
	const char *tree = json_string_value(json_object_get(o, "tree"));
	const char *parent = json_string_value(json_object_get(o, "parent"));
	const char *host = json_string_value(json_object_get(o, "hostname"));
	const char *user = json_string_value(json_object_get(o, "username"));
	if (json_integer_value(json_object_get(o, "version")) != SNAP_VERSION || !tree ||
	    util_unhex(s->tree, ID_LEN, tree) != 0)
		goto bad;
	if (parent) {
		if (util_unhex(s->parent, ID_LEN, parent) != 0)
			goto bad;
		s->has_parent = 1;
	}
	s->time = json_integer_value(json_object_get(o, "time"));
	json_int_t ns = json_integer_value(json_object_get(o, "time_ns"));
	s->time_ns = (ns >= 0 && ns < 1000000000) ? (uint32_t)ns : 0;
	s->hostname = strdup(host ? host : "");
	s->username = strdup(user ? user : "");
	if (!s->hostname || !s->username ||
	    get_strs(json_object_get(o, "paths"), &s->paths, &s->npaths) ||
	    get_strs(json_object_get(o, "tags"), &s->tags, &s->ntags))
		goto bad;
	json_t *sum = json_object_get(o, "summary");
	if (sum)
		s->summary = json_dumps(sum, JSON_COMPACT | JSON_SORT_KEYS);
	memcpy(s->id, id, ID_LEN);
	memcpy(s->idhex, hex, ID_HEX);
	json_decref(o);
	*ret = s;
	return 0;
bad:
	json_decref(o);
	snap_free(s);
	return cf_error_set(err, CF_ECORRUPT, "snapshot %s is malformed", hex);
}

int snap_load(struct repo *r, const uint8_t id[32], struct snap **ret, struct cf_error *err)
{
	struct buf b = { 0 };
	int rc = repo_get_object(r, REPO_SNAPSHOT, id, &b, err);
	if (rc)
		return rc;
	rc = snap_parse(b.p, b.len, id, ret, err);
	buf_free(&b);
	return rc;
}

static int cmp_time(const void *a, const void *b)
{
	const struct snap *x = *(struct snap *const *)a, *y = *(struct snap *const *)b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	if (x->time_ns != y->time_ns)
		return x->time_ns < y->time_ns ? -1 : 1;
	return memcmp(x->id, y->id, ID_LEN);
}

int snap_list(struct repo *r, struct snap ***ret, size_t *ret_n, size_t *ret_bad,
	struct cf_error *err)
{
	uint8_t (*ids)[ID_LEN] = NULL;
	size_t n = 0, m = 0, bad = 0;
	int rc = repo_list(r, REPO_SNAPSHOT, &ids, &n, err);
	if (rc)
		return rc;
	struct snap **v = calloc(n ? n : 1, sizeof *v);
	if (!v) {
		free(ids);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	int64_t now = (int64_t)time(NULL);
	for (size_t i = 0; i < n; i++) {
		if (snap_load(r, ids[i], &v[m], NULL) != 0) {
			bad++;
			continue;
		}
		struct snap *s = v[m++];
		char name[80];
		snprintf(name, sizeof name, "snapshots/%s", s->idhex);
		if (dst_mtime(r->d, name, &s->recorded, NULL) != 0 || s->recorded <= 0)
			s->recorded = 0;
		s->future = s->time > now + SNAP_FUTURE_SLACK ||
			(s->recorded && s->time > s->recorded + SNAP_FUTURE_SLACK);
	}
	free(ids);
	if (m > 1)
		qsort(v, m, sizeof *v, cmp_time);
	*ret = v;
	*ret_n = m;
	if (ret_bad)
		*ret_bad = bad;
	return 0;
}

int snap_find(struct snap **list, size_t n, const char *spec, struct snap **ret,
	struct cf_error *err)
{
	if (strcmp(spec, "latest") == 0) {
		for (size_t i = n; i-- > 0;) {
			if (!list[i]->future) {
				*ret = list[i];
				return 0;
			}
		}
		return cf_error_set(err, CF_ENOENT, n ? "no snapshot in the repository is dated "
			"before now (the others are dated in the future)" : "no snapshot in the "
			"repository");
	}
	size_t len = strlen(spec);
	if (len < 4 || len > 64 || strspn(spec, "0123456789abcdef") != len)
		return cf_error_set(err, CF_EUSAGE, "'%s' is not a snapshot id", spec);
	struct snap *found = NULL;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(list[i]->idhex, spec, len) != 0)
			continue;
		if (found)
			return cf_error_set(err, CF_EUSAGE, "snapshot id '%s' is ambiguous", spec);
		found = list[i];
	}
	if (!found)
		return cf_error_set(err, CF_ENOENT, "no snapshot '%s'", spec);
	*ret = found;
	return 0;
}

int64_t snap_time_eff(const struct snap *s)
{
	return s->recorded > 0 && s->recorded < s->time ? s->recorded : s->time;
}

void snap_time_str(const struct snap *s, char out[40])
{
	time_t t = (time_t)s->time;
	struct tm tm;
	/* A forged time past what struct tm holds: the seconds, not an unset struct tm. */
	if (!localtime_r(&t, &tm)) {
		snprintf(out, 40, "@%lld", (long long)s->time);
		return;
	}
	size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S%z", &tm);
	/* RFC 3339 wants +01:00 where strftime gives +0100. */
	if (n >= 5 && n + 1 < 40) {
		memmove(out + n - 1, out + n - 2, 3);
		out[n - 2] = ':';
	}
}

int snap_delete(struct repo *r, const struct snap *s, struct cf_error *err)
{
	return repo_delete_object(r, REPO_SNAPSHOT, s->id, err);
}
