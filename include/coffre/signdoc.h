/* signdoc.h: documents signed with Ed25519, for what a federation and its shops exchange
 * (enrollment bundles, the shops' registry, status objects).
 *
 * On the wire, one JSON object:
 *   {"v": 1, "kind": KIND, "payload": BASE64, "sig": BASE64}
 * The signature covers "coffre-" KIND "-v1", a NUL byte, then the payload's bytes: a
 * signature made for one kind never passes for another, and the payload is verified as the
 * bytes it is (base64), so there is no canonical JSON to get wrong. KIND is made of lower-case
 * letters, digits and '-' (at most 32). Base64 is the standard alphabet with padding. */
#ifndef COFFRE_SIGNDOC_H
#define COFFRE_SIGNDOC_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/error.h"

#define SIGNDOC_PK_BYTES 32
#define SIGNDOC_SK_BYTES 64
#define SIGNDOC_MAX (4u << 20)	/* a document larger than this is refused unread */

/* signdoc_keypair(pk, sk): a new Ed25519 key pair. */
void signdoc_keypair(uint8_t pk[SIGNDOC_PK_BYTES], uint8_t sk[SIGNDOC_SK_BYTES]);

/* signdoc_make(kind, sk, payload, len, ret_text, err): the signed document of ${payload}
 * (${len} bytes, at most SIGNDOC_MAX / 2), NUL-terminated in *ret_text (free()). */
int signdoc_make(const char *kind, const uint8_t sk[SIGNDOC_SK_BYTES], const void *payload,
	size_t len, char **ret_text, struct cf_error *err);

/* signdoc_open(kind, pk, text, len, ret_payload, ret_len, err): check that ${text} (${len}
 * bytes, hostile) is a document of ${kind} signed by ${pk}; then *ret_payload (free(); one NUL
 * byte after its *ret_len bytes) holds its payload. CF_ECORRUPT with a one-line reason when it
 * is not well formed, of another kind, or its signature does not verify. */
int signdoc_open(const char *kind, const uint8_t pk[SIGNDOC_PK_BYTES], const char *text,
	size_t len, uint8_t **ret_payload, size_t *ret_len, struct cf_error *err);

/* signdoc_key_text(key, n, out, outlen): ${key} (${n} bytes) in base64 in ${out}; 0, or -1
 * when ${outlen} is too small. signdoc_key_parse(text, key, n): the reverse, 0 only when
 * ${text} (surrounding blanks allowed) holds exactly ${n} bytes. */
int signdoc_key_text(const uint8_t *key, size_t n, char *out, size_t outlen);
int signdoc_key_parse(const char *text, uint8_t *key, size_t n);

#endif
