/* fed_tool: federation pieces for the fleet tests, made with signdoc as the federation's own
 * commands make them (fed-spec formats).
 *
 *   fed_tool keygen PUB SK                 an Ed25519 pair, base64, one line each (SK 0600)
 *   fed_tool registry FED_SK OUT SHOPS     OUT: the signed registry of the shops listed in
 *                                          SHOPS, lines "ID PK_B64 [NAME...]"
 *   fed_tool sign KIND SK IN OUT           OUT: IN's bytes signed as a KIND document
 *   fed_tool sim N DIR URL KEYS            N simulated shops, all healthy: DIR/federation.pub,
 *                                          DIR/registry.json, and their status objects put
 *                                          at URL (status/shop-NNNNN.json) with the S3 keys
 *                                          KEYS; prints the seconds the puts took
 *
 * Errors: one line on stderr, exit 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "coffre/dst.h"
#include "coffre/error.h"
#include "coffre/signdoc.h"
#include "base/util.h"

static int die(const char *what)
{
	fprintf(stderr, "fed_tool: %s\n", what);
	return 1;
}

static int write_line(const char *path, const uint8_t *key, size_t n, unsigned mode)
{
	char t[200];
	if (signdoc_key_text(key, n, t, sizeof t - 1))
		return -1;
	strcat(t, "\n");
	struct cf_error err = { 0 };
	if (util_write_atomic(path, t, strlen(t), 0, &err))
		return -1;
	return chmod(path, mode);
}

static int read_key(const char *path, uint8_t *key, size_t n)
{
	char *line = util_read_first_line(path);
	int rc = line && signdoc_key_parse(line, key, n) == 0 ? 0 : -1;
	free(line);
	return rc;
}

static int sign_to(const char *kind, const uint8_t *sk, const char *payload, size_t len,
	const char *out)
{
	char *doc = NULL;
	struct cf_error err = { 0 };
	if (signdoc_make(kind, sk, payload, len, &doc, &err) ||
	    util_write_atomic(out, doc, strlen(doc), 0, &err)) {
		free(doc);
		return die(err.msg);
	}
	free(doc);
	return 0;
}

static json_t *shop_entry(const char *id, const char *pk, const char *name)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:I}", "id", id, "name", name, "status_pk", pk,
		"schedule", "daily 19:00", "enrolled", (json_int_t)time(NULL));
}

static int sign_registry(const uint8_t *fsk, json_t *shops, const char *out)
{
	json_t *o = json_pack("{s:I, s:o}", "updated", (json_int_t)time(NULL), "shops", shops);
	char *p = json_dumps(o, JSON_COMPACT);
	int rc = sign_to("registry", fsk, p, strlen(p), out);
	free(p);
	json_decref(o);
	return rc;
}

static int registry(const char *fsk_file, const char *out, const char *list)
{
	uint8_t fsk[SIGNDOC_SK_BYTES];
	if (read_key(fsk_file, fsk, sizeof fsk))
		return die("cannot read the federation's secret key");
	FILE *f = fopen(list, "r");
	if (!f)
		return die("cannot read the shops");
	json_t *shops = json_array();
	char line[600], id[100], pk[100];
	int at;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		if (sscanf(line, "%99s %99s %n", id, pk, &at) < 2)
			continue;
		json_array_append_new(shops, shop_entry(id, pk, line + at));
	}
	fclose(f);
	return sign_registry(fsk, shops, out);
}

static int sim(long n, const char *dir, const char *url, const char *keys)
{
	uint8_t fpk[SIGNDOC_PK_BYTES], fsk[SIGNDOC_SK_BYTES], pk[SIGNDOC_PK_BYTES],
		sk[SIGNDOC_SK_BYTES];
	char path[4096], pkt[100];
	signdoc_keypair(fpk, fsk);
	snprintf(path, sizeof path, "%s/federation.pub", dir);
	if (write_line(path, fpk, sizeof fpk, 0644))
		return die("cannot write federation.pub");
	struct dst_options o = { .s3_keys_file = keys };
	struct dst *d = NULL;
	struct cf_error err = { 0 };
	if (dst_open(url, &o, &d, &err))
		return die(err.msg);
	json_t *shops = json_array();
	long long now = (long long)time(NULL);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++) {
		char id[32], name[64], obj[64];
		snprintf(id, sizeof id, "shop-%05ld", i);
		snprintf(name, sizeof name, "Shop %ld", i);
		signdoc_keypair(pk, sk);
		signdoc_key_text(pk, sizeof pk, pkt, sizeof pkt);
		json_array_append_new(shops, shop_entry(id, pkt, name));
		json_t *p = json_pack("{s:s, s:i, s:I, s:s, s:I, s:I, s:[{s:s, s:s, s:I, s:I}], "
				      "s:[], s:b, s:n}",
			"shop", id, "seq", 1, "written_at", (json_int_t)now, "version", "coffre sim",
			"last_good_backup", (json_int_t)(now - 3600), "last_proven_restore",
			(json_int_t)(now - 86400), "destinations", "name", "cloud", "state", "ok",
			"last_complete", (json_int_t)(now - 3600), "lock_until",
			(json_int_t)(now + 30 * 86400), "alerts", "alarm", 0, "free_bytes");
		char *text = json_dumps(p, JSON_COMPACT), *doc = NULL;
		snprintf(obj, sizeof obj, "status/%s.json", id);
		if (signdoc_make("status", sk, text, strlen(text), &doc, &err) ||
		    dst_put_buf(d, obj, doc, strlen(doc), &err))
			return die(err.msg);
		free(doc);
		free(text);
		json_decref(p);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.2f\n", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	dst_free(d);
	snprintf(path, sizeof path, "%s/registry.json", dir);
	return sign_registry(fsk, shops, path);
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "keygen")) {
		uint8_t pk[SIGNDOC_PK_BYTES], sk[SIGNDOC_SK_BYTES];
		signdoc_keypair(pk, sk);
		if (write_line(argv[2], pk, sizeof pk, 0644) || write_line(argv[3], sk, sizeof sk, 0600))
			return die("cannot write the keys");
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "registry"))
		return registry(argv[2], argv[3], argv[4]);
	if (argc == 6 && !strcmp(argv[1], "sign")) {
		uint8_t sk[SIGNDOC_SK_BYTES];
		struct buf b = { 0 };
		struct cf_error err = { 0 };
		if (read_key(argv[3], sk, sizeof sk))
			return die("cannot read the secret key");
		if (util_read_file(argv[4], SIGNDOC_MAX / 2, &b, &err))
			return die(err.msg);
		int rc = sign_to(argv[2], sk, (const char *)b.p, b.len, argv[5]);
		buf_free(&b);
		return rc;
	}
	if (argc == 6 && !strcmp(argv[1], "sim"))
		return sim(atol(argv[2]), argv[3], argv[4], argv[5]);
	fprintf(stderr, "usage: fed_tool keygen PUB SK | registry FED_SK OUT SHOPS | "
			"sign KIND SK IN OUT | sim N DIR URL KEYS\n");
	return 2;
}
