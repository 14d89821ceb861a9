/* fed_bundle.c: coffre federation bundle: one signed enrollment bundle for each shop of a
 * CSV file, and the federation's signed registry of its shops brought up to date. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <ini.h>
#include <jansson.h>
#include <sodium.h>

#include "cli.h"
#include "fedcli.h"
#include "setup.h"
#include "base/util.h"
#include "coffre/fed.h"
#include "coffre/signdoc.h"

struct bopts {
	const char *dir, *shops, *out, *endpoint, *bucket, *mode, *webhook, *mail_to, *smtp,
		*status_prefix, *pass;
	long lock_days, valid_days;
	char *conf[8];		/* values read from FEDE/federation.conf (owned) */
	int lock_set, valid_set;
};

static const char *const conf_keys[] = { "endpoint", "bucket", "lock-mode", "webhook-url",
	"mail-to", "smtp-url", "status-prefix", "lock-days" };

static int conf_line(void *ctx, const char *section, const char *name, const char *value)
{
	struct bopts *o = ctx;
	if (strcmp(section, "defaults") != 0)
		return 0;
	for (size_t i = 0; i < sizeof conf_keys / sizeof *conf_keys; i++)
		if (strcmp(name, conf_keys[i]) == 0 && !o->conf[i])
			return (o->conf[i] = strdup(value)) != NULL;
	return 0;
}

/* FEDE/federation.conf, when there: [defaults] for what the options do not say. */
static int read_defaults(struct bopts *o)
{
	char *p = util_path("%s/%s", o->dir, FEDCLI_CONF);
	struct buf b = { 0 };
	struct cf_error err = { 0 };
	int r = p ? fedcli_read(p, 65536, &b, &err) : CF_ENOMEM;
	int rc = 0;
	if (r == 0 && (buf_append(&b, "", 1) != 0 ||
			      ini_parse_string((const char *)b.p, conf_line, o) != 0))
		rc = cli_error(CF_EXIT_USAGE, "cannot read '%s'", p);
	else if (r != 0 && r != CF_ENOENT)
		rc = cli_fail(&err);
	buf_free(&b);
	free(p);
	if (rc)
		return rc;
	const char **dst[] = { &o->endpoint, &o->bucket, &o->mode, &o->webhook, &o->mail_to,
		&o->smtp, &o->status_prefix };
	for (size_t i = 0; i < 7; i++)
		if (!*dst[i] && o->conf[i])
			*dst[i] = o->conf[i];
	if (!o->lock_set && o->conf[7]) {
		char *end;
		errno = 0;
		long n = strtol(o->conf[7], &end, 10);
		if (errno || *end || n < 0 || n > 36500)
			return cli_error(CF_EXIT_USAGE, "bad lock-days in '%s/%s'", o->dir,
				FEDCLI_CONF);
		o->lock_days = n;
	}
	return 0;
}

static const char bundle_usage[] =
	"usage: coffre federation bundle --dir FEDE --shops CSV --out DIR --endpoint URL\n"
	"              --bucket B [--lock-days N --lock-mode COMPLIANCE|GOVERNANCE]\n"
	"              [--webhook-url U] [--mail-to A] [--smtp-url U] [--status-prefix P]\n"
	"              [--valid-days N (default 90)] [--passphrase-file F]\n";

static char *b64(const uint8_t *k, size_t n)
{
	char buf[128];
	return signdoc_key_text(k, n, buf, sizeof buf) == 0 ? strdup(buf) : NULL;
}

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

static json_t *bundle_payload(const struct bopts *o, const struct fed_shop *s, const char *escrow,
	const char *status_sk, long now)
{
	const char *host = fed_endpoint_host(o->endpoint);
	char prefix[128], *status_url;
	snprintf(prefix, sizeof prefix, "shops/%s", s->id);
	if (o->status_prefix && *o->status_prefix)
		status_url = util_path("s3://%s/%s/%s", host, o->bucket, o->status_prefix);
	else
		status_url = util_path("s3://%s/%s", host, o->bucket);
	json_t *lock = o->lock_days > 0 ? json_pack("{s:I, s:s}", "days", (json_int_t)o->lock_days,
		"mode", o->mode ? o->mode : "COMPLIANCE") : json_null();
	json_t *alert = json_null();
	if (o->webhook || o->mail_to || (s->email && *s->email)) {
		json_t *to = json_array();
		if (o->mail_to)
			json_array_append_new(to, json_string(o->mail_to));
		if (s->email && *s->email)
			json_array_append_new(to, json_string(s->email));
		alert = json_pack("{s:o, s:o, s:o, s:s}", "mail_to", to, "smtp_url",
			str_or_null(o->smtp), "webhook_url", str_or_null(o->webhook), "language", "fr");
	}
	json_t *folders = json_array();
	for (size_t i = 0; i < s->nfolders; i++)
		json_array_append_new(folders, json_string(s->folders[i]));
	json_t *p = json_pack("{s:s, s:s, s:I, s:I, s:{s:s, s:s, s:s, s:s, s:s, s:s}, s:o, s:o, "
		"s:s, s:{s:s, s:s}, s:{s:o, s:s, s:{s:i, s:i, s:i}}}",
		"shop", s->id, "name", s->name, "issued", (json_int_t)now, "expires",
		(json_int_t)(now + o->valid_days * 86400),
		"s3", "endpoint", o->endpoint, "bucket", o->bucket, "prefix", prefix, "access_key",
		s->access_key, "secret_key", s->secret_key, "region", "",
		"lock", lock, "alert", alert, "escrow_pub", escrow,
		"status", "sk", status_sk, "url", status_url ? status_url : "",
		"defaults", "folders", folders, "schedule", s->schedule ? s->schedule : "daily 19:00",
		"keep", "daily", 14, "weekly", 8, "monthly", 24);
	free(status_url);
	return p;
}

/* The registry's shops, keyed by id: from FEDE/registry.json when there (verified). */
static int registry_load(const char *dir, const uint8_t pk[32], json_t **ret)
{
	char *p = util_path("%s/%s", dir, FEDCLI_REGISTRY);
	struct buf b = { 0 };
	struct cf_error err = { 0 };
	uint8_t *payload = NULL;
	size_t plen = 0;
	int rc = 0;
	*ret = json_object();
	int r = p ? fedcli_read(p, SIGNDOC_MAX, &b, &err) : CF_ENOMEM;
	if (r == CF_ENOENT)
		goto out;
	if (r != 0 || signdoc_open("registry", pk, (const char *)b.p, b.len, &payload, &plen,
			      &err) != 0) {
		rc = cli_error(CF_EXIT_INTEGRITY, "cannot use the registry '%s': %s", p, err.msg);
		goto out;
	}
	json_t *doc = json_loadb((const char *)payload, plen, JSON_REJECT_DUPLICATES, NULL);
	json_t *shops = json_object_get(doc, "shops"), *e;
	size_t i;
	json_array_foreach(shops, i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));
		if (id)
			json_object_set(*ret, id, e);
	}
	json_decref(doc);
out:
	free(payload);
	buf_free(&b);
	free(p);
	return rc;
}

static int registry_save(const char *dir, const uint8_t *sk, json_t *byid, long now)
{
	json_t *arr = json_array(), *e;
	const char *k;
	json_object_foreach(byid, k, e)
		json_array_append(arr, e);
	json_t *doc = json_pack("{s:I, s:o}", "updated", (json_int_t)now, "shops", arr);
	char *payload = json_dumps(doc, JSON_COMPACT), *text = NULL;
	json_decref(doc);
	struct cf_error err = { 0 };
	int rc = 0;
	if (!payload || signdoc_make("registry", sk, payload, strlen(payload), &text, &err) != 0)
		rc = payload ? cli_fail(&err) : cli_error(CF_EXIT_ERROR, "out of memory");
	char *p = util_path("%s/%s", dir, FEDCLI_REGISTRY);
	if (rc == 0 && (!p || setup_write_file(p, text, 0644, NULL) != 0))
		rc = cli_error(CF_EXIT_ERROR, "cannot write the registry: %s", strerror(errno));
	free(p);
	free(payload);
	free(text);
	return rc;
}

static int one_shop(const struct bopts *o, const struct fed_shop *s, const uint8_t *sk,
	const char *escrow, json_t *registry, long now)
{
	uint8_t spk[SIGNDOC_PK_BYTES], *ssk = sodium_malloc(SIGNDOC_SK_BYTES);
	if (!ssk)
		return cli_error(CF_EXIT_ERROR, "out of memory");
	signdoc_keypair(spk, ssk);
	char *ssk_text = b64(ssk, SIGNDOC_SK_BYTES), *spk_text = b64(spk, sizeof spk);
	sodium_free(ssk);
	json_t *p = ssk_text ? bundle_payload(o, s, escrow, ssk_text, now) : NULL;
	char *payload = p ? json_dumps(p, JSON_COMPACT) : NULL, *text = NULL;
	json_decref(p);
	struct cf_error err = { 0 };
	int rc = 0;
	if (!payload || !spk_text ||
	    signdoc_make("bundle", sk, payload, strlen(payload), &text, &err) != 0)
		rc = payload ? cli_fail(&err) : cli_error(CF_EXIT_ERROR, "out of memory");
	char *path = util_path("%s/%s.bundle", o->out, s->id);
	if (rc == 0 && (!path || setup_write_file(path, text, 0600, NULL) != 0))
		rc = cli_error(CF_EXIT_ERROR, "cannot write '%s': %s", path, strerror(errno));
	if (rc == 0) {
		json_t *old = json_object_get(registry, s->id);
		json_int_t enrolled = old ? json_integer_value(json_object_get(old, "enrolled")) : 0;
		json_object_set_new(registry, s->id, json_pack("{s:s, s:s, s:s, s:s, s:I}", "id",
			s->id, "name", s->name, "status_pk", spk_text, "schedule",
			s->schedule ? s->schedule : "daily 19:00", "enrolled",
			enrolled ? enrolled : (json_int_t)now));
		if (!g.quiet)
			printf("%s\n", path);
	}
	if (payload)
		sodium_memzero(payload, strlen(payload));
	if (ssk_text)
		sodium_memzero(ssk_text, strlen(ssk_text));
	free(payload);
	free(text);
	free(path);
	free(ssk_text);
	free(spk_text);
	return rc;
}

static int read_shops(const char *file, struct fed_shops *ret)
{
	struct buf b = { 0 };
	struct cf_error err = { 0 };
	char *problems = NULL;
	if (fedcli_read(file, FED_CSV_MAX, &b, &err) != 0)
		return cli_fail(&err);
	int r = fed_csv_parse((const char *)b.p, b.len, ret, &problems, &err);
	buf_free(&b);
	if (r == 0 && ret->n == 0)
		return cli_error(CF_EXIT_USAGE, "'%s' names no shop", file);
	if (r == 0)
		return 0;
	if (problems)
		fprintf(stderr, "coffre: %s: bad lines, nothing written:\n%s", file, problems);
	free(problems);
	return problems ? CF_EXIT_USAGE : cli_fail(&err);
}

int fedcli_bundle(int argc, char **argv)
{
	struct bopts o = { .valid_days = 90 };
	static const struct option opts[] = { { "dir", required_argument, NULL, 'd' },
		{ "shops", required_argument, NULL, 's' }, { "out", required_argument, NULL, 'o' },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "bucket", required_argument, NULL, 'b' },
		{ "lock-days", required_argument, NULL, 'l' },
		{ "lock-mode", required_argument, NULL, 'm' },
		{ "webhook-url", required_argument, NULL, 'w' },
		{ "mail-to", required_argument, NULL, 't' },
		{ "smtp-url", required_argument, NULL, 'S' },
		{ "status-prefix", required_argument, NULL, 'P' },
		{ "valid-days", required_argument, NULL, 'v' },
		{ "passphrase-file", required_argument, NULL, 'p' }, { 0 } };
	int c;
	char *end;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': o.dir = optarg; break;
		case 's': o.shops = optarg; break;
		case 'o': o.out = optarg; break;
		case 'e': o.endpoint = optarg; break;
		case 'b': o.bucket = optarg; break;
		case 'm': o.mode = optarg; break;
		case 'w': o.webhook = optarg; break;
		case 't': o.mail_to = optarg; break;
		case 'S': o.smtp = optarg; break;
		case 'P': o.status_prefix = optarg; break;
		case 'p': o.pass = optarg; break;
		case 'l':
		case 'v':
			errno = 0;
			long n = strtol(optarg, &end, 10);
			if (errno || *end || n < 0 || n > 36500)
				return cli_error(CF_EXIT_USAGE, "bad number of days '%s'", optarg);
			*(c == 'l' ? &o.lock_days : &o.valid_days) = n;
			*(c == 'l' ? &o.lock_set : &o.valid_set) = 1;
			break;
		default: return cli_usage(bundle_usage);
		}
	}
	if (optind != argc || !o.dir || !o.shops || !o.out)
		return cli_usage(bundle_usage);
	int rc = read_defaults(&o);
	if (rc == 0 && (!o.endpoint || !o.bucket))
		rc = cli_usage(bundle_usage);
	if (rc) {
		for (size_t i = 0; i < 8; i++)
			free(o.conf[i]);
		return rc;
	}
	if (!fed_endpoint_host(o.endpoint))
		rc = cli_error(CF_EXIT_USAGE, "bad endpoint '%s' (http(s)://HOST[:PORT])",
			o.endpoint);
	else if (strlen(o.bucket) < 3 || strlen(o.bucket) > 63 ||
		 strspn(o.bucket, "abcdefghijklmnopqrstuvwxyz0123456789.-") != strlen(o.bucket))
		rc = cli_error(CF_EXIT_USAGE, "bad bucket name '%s' (3 to 63 lower-case letters, "
			"digits, '.' and '-')", o.bucket);
	else if ( (o.mode && strcmp(o.mode, "COMPLIANCE") &&
					      strcmp(o.mode, "GOVERNANCE")) ||
	    (o.status_prefix && strcspn(o.status_prefix, " \t\"#;\\") != strlen(o.status_prefix)))
		rc = cli_usage(bundle_usage);
	struct fed_shops shops = { 0 };
	uint8_t pk[SIGNDOC_PK_BYTES], *sk = NULL;
	json_t *registry = NULL;
	char *escrow = NULL;
	if (rc == 0)
		rc = read_shops(o.shops, &shops);
	if (rc == 0)
		rc = fedcli_read_pub(o.dir, pk);
	if (rc == 0 && !(sk = sodium_malloc(SIGNDOC_SK_BYTES)))
		rc = cli_error(CF_EXIT_ERROR, "out of memory");
	if (rc == 0) {
		char *ep = util_path("%s/%s", o.dir, FEDCLI_ESCROW_PUB);
		escrow = ep ? util_read_first_line(ep) : NULL;
		if (!escrow || strlen(escrow) != 64)
			rc = cli_error(CF_EXIT_ERROR, "cannot read '%s'", ep ? ep : o.dir);
		free(ep);
	}
	if (rc == 0)
		rc = registry_load(o.dir, pk, &registry);
	if (rc == 0)
		rc = fedcli_unseal(o.dir, FEDCLI_KEY, o.pass, sk, SIGNDOC_SK_BYTES);
	if (rc == 0 && util_mkdirs(o.out, 0700) != 0)
		rc = cli_error(CF_EXIT_ERROR, "cannot create '%s': %s", o.out, strerror(errno));
	long now = (long)time(NULL);
	size_t written = 0;
	for (size_t i = 0; rc == 0 && i < shops.n; i++)
		if ((rc = one_shop(&o, &shops.v[i], sk, escrow, registry, now)) == 0)
			written++;
	/* The bundles written so far are in the registry even when a later one failed. */
	if (written) {
		int r2 = registry_save(o.dir, sk, registry, now);
		rc = rc ? rc : r2;
	}
	json_decref(registry);
	sodium_free(sk);
	free(escrow);
	fed_shops_release(&shops);
	for (size_t i = 0; i < 8; i++)
		free(o.conf[i]);
	return rc;
}
