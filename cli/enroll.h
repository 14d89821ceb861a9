/* enroll.h: a federation's enrollment bundle as coffre enroll reads it (enroll_bundle.c)
 * and uses it (cmd_enroll.c). */
#ifndef COFFRE_ENROLL_H
#define COFFRE_ENROLL_H

#include <stddef.h>
#include <stdint.h>

struct json_t;

/* What a verified bundle says; strings borrowed from ${doc}. */
struct enroll_bundle {
	struct json_t *doc;
	const char *shop, *name;
	long long issued, expires;
	const char *endpoint, *bucket, *prefix, *access_key, *secret_key, *region;
	char s3_url[600];		/* s3://host[:port]/bucket[/prefix]?http(s) */
	long long lock_days;		/* 0: no Object Lock */
	const char *lock_mode;
	int alert;			/* the bundle has an alert section */
	const char *mail_to[8];
	size_t nmail;
	const char *smtp_url, *webhook_url, *language;
	const char *escrow_pub;		/* 64 hex */
	const char *status_sk;		/* base64 of 64 bytes */
	const char *status_url;
	const char *folders[64];
	size_t nfolders;
	const char *schedule;
	long long keep_daily, keep_weekly, keep_monthly, keep_yearly;
};

/* enroll_bundle_open(file, pk, now, ret): read ${file}, check that ${pk} signed it as a
 * bundle, that it is well formed and not expired at ${now}. 0 or an exit code (one line
 * printed); release ${ret} with enroll_bundle_release. */
int enroll_bundle_open(const char *file, const uint8_t pk[32], long long now,
	struct enroll_bundle *ret);
void enroll_bundle_release(struct enroll_bundle *b);

/* enroll_value_ok(s): whether ${s} can be written as a configuration value (printable, no
 * comment mark, no surrounding blank, at most 1024 bytes). */
int enroll_value_ok(const char *s);

/* Where the enrolled shop keeps what the bundle gave. */
struct enroll_files {
	const char *config, *password, *s3_keys, *status_keys, *status_key;
	const char *spool, *state_dir;
	const char *const *folders;
	size_t nfolders;
	const char *federation_key;	/* base64 */
};

/* enroll_conf_text(b, f): the configuration file's text (malloc'd), NULL when out of
 * memory. */
char *enroll_conf_text(const struct enroll_bundle *b, const struct enroll_files *f);

#endif
