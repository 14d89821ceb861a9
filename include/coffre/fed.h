/* fed.h: what a federation keeps for itself: its secret keys sealed under a passphrase, and
 * the list of its shops read from a CSV file.
 *
 * Sealed secret, one JSON object:
 *   {"v":1,"kdf":"argon2id13","ops":N,"mem":N,"salt":B64,"nonce":B64,"box":B64}
 * The key of crypto_secretbox is crypto_pwhash (Argon2id 1.3) of the passphrase. */
#ifndef COFFRE_FED_H
#define COFFRE_FED_H

#include <stddef.h>
#include <stdint.h>

struct cf_error;

#define FED_SEALED_MAX 4096	/* a sealed file larger than this is refused unread */
#define FED_SECRET_MAX 256	/* the largest secret sealed */

/* fed_seal(pass, secret, n, ret_text, err): ${secret} (${n} bytes, at most FED_SECRET_MAX)
 * sealed under ${pass}, as NUL-terminated JSON in *ret_text (free()). 0 or CF_ENOMEM. */
int fed_seal(const char *pass, const uint8_t *secret, size_t n, char **ret_text,
	struct cf_error *err);

/* fed_unseal(pass, text, len, out, n, err): the secret sealed in ${text} (${len} bytes,
 * hostile), which must be exactly ${n} bytes, into ${out}. 0; CF_EPASSWORD when ${pass} does
 * not open it; CF_ECORRUPT when it is not well formed (or asks for more work or memory than a
 * seal of ours); CF_ENOMEM. */
int fed_unseal(const char *pass, const char *text, size_t len, uint8_t *out, size_t n,
	struct cf_error *err);

/* One line of the shops CSV:
 *   shop_id,name,contact_email,s3_access_key,s3_secret_key[,folders[,schedule]]
 * (folders separated by ';'). A first line starting "shop_id," is a header. */
struct fed_shop {
	char *id;		/* 1 to 64 letters, digits, '-', '_', '.' (not first) */
	char *name;
	char *email;
	char *access_key;
	char *secret_key;
	char **folders;		/* absolute paths; may be empty */
	size_t nfolders;
	char *schedule;		/* NULL when not given */
	unsigned line;
};

struct fed_shops {
	struct fed_shop *v;
	size_t n;
};

#define FED_CSV_MAX (16u << 20)		/* bytes */
#define FED_CSV_LINE_MAX 4096
#define FED_CSV_SHOPS_MAX 100000

/* fed_csv_parse(text, len, ret, ret_problems, err): the shops of the CSV ${text} (${len}
 * bytes, hostile). 0 with ${ret} filled (fed_shops_release); CF_EUSAGE when lines are bad:
 * ${*ret_problems} (free()) then holds one "line N: reason" per bad line and ${ret} is
 * empty; CF_ENOMEM. No quoting: a field holds no comma, quote or control character. */
int fed_csv_parse(const char *text, size_t len, struct fed_shops *ret, char **ret_problems,
	struct cf_error *err);
void fed_shops_release(struct fed_shops *l);

/* fed_id_ok(id): whether ${id} is a shop id (as the configuration's shop-id). */
int fed_id_ok(const char *id);
/* fed_value_ok(s, max): whether ${s} (1 to ${max} bytes) can be a configuration value:
 * printable, no quote, backslash, comment mark ('#', ';') or surrounding blank. */
int fed_value_ok(const char *s, size_t max);
/* fed_endpoint_host(url): "host[:port]" in the "http(s)://host[:port]" ${url} (a pointer
 * into it), or NULL when ${url} is not of that form. */
const char *fed_endpoint_host(const char *url);
/* fed_secret_ok(s): whether ${s} can be an S3 key in a keys file: 1 to 256 printable
 * characters without blanks. */
int fed_secret_ok(const char *s);

#endif
