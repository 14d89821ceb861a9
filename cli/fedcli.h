/* fedcli.h: what the federation commands share (cmd_federation.c, fed_bundle.c). */
#ifndef COFFRE_FEDCLI_H
#define COFFRE_FEDCLI_H

#include <stddef.h>
#include <stdint.h>

#define FEDCLI_PUB "federation.pub"
#define FEDCLI_KEY "federation.key"
#define FEDCLI_ESCROW_PUB "escrow.pub"
#define FEDCLI_ESCROW_KEY "escrow.key"
#define FEDCLI_REGISTRY "registry.json"
#define FEDCLI_CONF "federation.conf"

/* fedcli_unseal(dir, name, pass_file, out, n): the secret ${dir}/${name} sealed under the
 * passphrase (read from ${pass_file}, the environment or the terminal) into ${out} (${n}
 * bytes). 0 or an exit code (printed). */
int fedcli_unseal(const char *dir, const char *name, const char *pass_file, uint8_t *out,
	size_t n);
/* fedcli_read_pub(dir, pk): the federation's public key from ${dir}. 0 or an exit code. */
int fedcli_read_pub(const char *dir, uint8_t pk[32]);
struct buf;
struct cf_error;
/* fedcli_read(path, max, ret, err): util_read_file, but a symbolic link is refused
 * (O_NOFOLLOW): what it reads comes from outside. */
int fedcli_read(const char *path, size_t max, struct buf *ret, struct cf_error *err);
/* fedcli_bundle(argc, argv): coffre federation bundle (argv[0] is "bundle"). */
int fedcli_bundle(int argc, char **argv);

#endif
