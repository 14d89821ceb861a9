/* cmd_federation.c: coffre federation init / bundle / escrow-key: the federation's keys in
 * its folder, the enrollment bundles of its shops, and the escrow secret for restores. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "fedcli.h"
#include "setup.h"
#include "base/util.h"
#include "coffre/fed.h"
#include "coffre/repo.h"
#include "coffre/signdoc.h"

static const char fed_usage[] =
	"usage: coffre federation init --dir FEDE [--passphrase-file F]\n"
	"       coffre federation bundle --dir FEDE --shops CSV --out DIR --endpoint URL\n"
	"              --bucket B [--lock-days N --lock-mode COMPLIANCE|GOVERNANCE]\n"
	"              [--webhook-url U] [--mail-to A] [--smtp-url U] [--status-prefix P]\n"
	"              [--valid-days N] [--passphrase-file F]\n"
	"       coffre federation escrow-key --dir FEDE --out FILE [--passphrase-file F]\n"
	"init makes the federation's signing and escrow key pairs (secret halves sealed under\n"
	"the passphrase); bundle makes one signed enrollment bundle a shop and updates the\n"
	"signed registry; escrow-key writes the escrow secret key for --escrow-key-file.\n";

static char *path2(const char *dir, const char *name)
{
	return util_path("%s/%s", dir, name);
}

int fedcli_read_pub(const char *dir, uint8_t pk[32])
{
	char *p = path2(dir, FEDCLI_PUB);
	char *line = p ? util_read_first_line(p) : NULL;
	int bad = !line || signdoc_key_parse(line, pk, SIGNDOC_PK_BYTES) != 0;
	free(line);
	if (bad)
		cli_error(CF_EXIT_ERROR, "cannot read the federation public key '%s'", p ? p : dir);
	free(p);
	return bad ? CF_EXIT_ERROR : 0;
}

int fedcli_read(const char *path, size_t max, struct buf *ret, struct cf_error *err)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? cf_error_set(err, CF_ENOENT, "'%s' does not exist", path) :
			cf_error_sys(err, CF_EIO, "cannot open '%s'", path);
	int rc = util_read_fd(fd, path, max, ret, err);
	close(fd);
	return rc;
}

int fedcli_unseal(const char *dir, const char *name, const char *pass_file, uint8_t *out,
	size_t n)
{
	char *p = path2(dir, name);
	struct buf b = { 0 };
	struct cf_error err = { 0 };
	char *pw = NULL;
	int rc = 0;
	if (!p)
		return cli_error(CF_EXIT_ERROR, "%s", "out of memory");
	if (fedcli_read(p, FED_SEALED_MAX, &b, &err) != 0)
		rc = cli_fail(&err);
	else if ((rc = cli_read_password(pass_file, "federation passphrase: ", 0, &pw)) == 0 &&
		 fed_unseal(pw, (const char *)b.p, b.len, out, n, &err) != 0)
		rc = cli_error(cf_exit_code(err.code), "cannot open '%s': %s", p, err.msg);
	cli_secret_free(pw);
	buf_free(&b);
	free(p);
	return rc;
}

/* ${text} into ${dir}/${name} with ${mode}; 0 or an exit code. */
static int put(const char *dir, const char *name, const char *text, unsigned mode)
{
	char *p = path2(dir, name);
	if (!p || setup_write_file(p, text, mode, NULL) != 0) {
		int rc = cli_error(CF_EXIT_ERROR, "cannot write '%s': %s", p ? p : name,
			strerror(errno));
		free(p);
		return rc;
	}
	free(p);
	return 0;
}

static const char conf_template[] =
	"# Defaults for 'coffre federation bundle' (its options win over these).\n"
	"[defaults]\n"
	"# endpoint = https://s3.example.org\n"
	"# bucket = shops\n"
	"# lock-days = 30\n"
	"# lock-mode = COMPLIANCE\n"
	"# webhook-url = https://hooks.example.org/coffre\n"
	"# mail-to = ops@example.org\n"
	"# smtp-url = smtps://mail.example.org\n"
	"# status-prefix = fleet\n";

static int fed_init(const char *dir, const char *pass_file)
{
	struct stat st;
	if (lstat(dir, &st) == 0)
		return cli_error(CF_EXIT_ERROR, "'%s' exists already: a federation folder is never "
			"overwritten", dir);
	char *pw = NULL;
	int rc = cli_read_password(pass_file, "new federation passphrase: ", 1, &pw);
	if (rc == 0 && !*pw)
		rc = cli_error(CF_EXIT_USAGE, "%s", "the passphrase must not be empty");
	if (rc == 0 && mkdir(dir, 0700) != 0)
		rc = cli_error(CF_EXIT_ERROR, "cannot create '%s': %s", dir, strerror(errno));
	uint8_t pk[SIGNDOC_PK_BYTES], *sk = sodium_malloc(SIGNDOC_SK_BYTES + 32);
	char pub[128], epub[65], *esec = sodium_malloc(65);
	char *sealed = NULL, *esealed = NULL, *line = NULL;
	struct cf_error err = { 0 };
	if (rc == 0 && (!sk || !esec))
		rc = cli_error(CF_EXIT_ERROR, "%s", "out of memory");
	if (rc == 0) {
		signdoc_keypair(pk, sk);
		repo_escrow_keygen(epub, esec);
		uint8_t *eraw = sk + SIGNDOC_SK_BYTES;
		signdoc_key_text(pk, sizeof pk, pub, sizeof pub);
		if (util_unhex(eraw, 32, esec) != 0 ||
		    fed_seal(pw, sk, SIGNDOC_SK_BYTES, &sealed, &err) != 0 ||
		    fed_seal(pw, eraw, 32, &esealed, &err) != 0)
			rc = err.code ? cli_fail(&err) : cli_error(CF_EXIT_ERROR, "escrow key");
	}
	if (rc == 0 && (line = util_path("%s\n", pub)) == NULL)
		rc = cli_error(CF_EXIT_ERROR, "%s", "out of memory");
	if (rc == 0)
		rc = put(dir, FEDCLI_KEY, sealed, 0600);
	if (rc == 0)
		rc = put(dir, FEDCLI_ESCROW_KEY, esealed, 0600);
	if (rc == 0)
		rc = put(dir, FEDCLI_CONF, conf_template, 0644);
	if (rc == 0) {
		rc = put(dir, FEDCLI_PUB, line, 0644);
		free(line);
		line = util_path("%s\n", epub);
		if (rc == 0)
			rc = line ? put(dir, FEDCLI_ESCROW_PUB, line, 0644) : CF_EXIT_ERROR;
	}
	if (rc == 0 && !g.quiet)
		printf("federation folder %s made\nfederation key: %s\nescrow key: %s\n", dir, pub,
			epub);
	free(line);
	free(sealed);
	free(esealed);
	sodium_free(sk);
	sodium_free(esec);
	cli_secret_free(pw);
	return rc;
}

static int fed_escrow_key(const char *dir, const char *out, const char *pass_file)
{
	uint8_t *raw = sodium_malloc(32);
	char *hex = sodium_malloc(66);
	int rc = raw && hex ? 0 : cli_error(CF_EXIT_ERROR, "%s", "out of memory");
	if (rc == 0)
		rc = fedcli_unseal(dir, FEDCLI_ESCROW_KEY, pass_file, raw, 32);
	if (rc == 0) {
		util_hex(hex, raw, 32);
		strcat(hex, "\n");
		/* Never over an existing file: it may be some other secret. */
		if (access(out, F_OK) == 0)
			rc = cli_error(CF_EXIT_ERROR, "'%s' exists already", out);
		else if (setup_write_file(out, hex, 0600, NULL) != 0)
			rc = cli_error(CF_EXIT_ERROR, "cannot write '%s': %s", out, strerror(errno));
		else if (!g.quiet)
			printf("escrow secret key written to %s (use it with --escrow-key-file and "
			       "--escrow-fingerprints)\n", out);
	}
	sodium_free(raw);
	sodium_free(hex);
	return rc;
}

int cmd_federation(int argc, char **argv)
{
	if (argc < 2 || cli_help(argc, argv, fed_usage))
		return argc < 2 ? cli_usage(fed_usage) : 0;
	if (sodium_init() < 0)
		return cli_error(CF_EXIT_ERROR, "%s", "libsodium cannot start");
	const char *sub = argv[1];
	if (strcmp(sub, "bundle") == 0)
		return fedcli_bundle(argc - 1, argv + 1);
	const char *dir = NULL, *pass = NULL, *out = NULL;
	static const struct option opts[] = { { "dir", required_argument, NULL, 'd' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "out", required_argument, NULL, 'o' }, { 0 } };
	int c;
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd')
			dir = optarg;
		else if (c == 'p')
			pass = optarg;
		else if (c == 'o')
			out = optarg;
		else
			return cli_usage(fed_usage);
	}
	if (optind != argc || !dir)
		return cli_usage(fed_usage);
	if (strcmp(sub, "init") == 0 && !out)
		return fed_init(dir, pass);
	if (strcmp(sub, "escrow-key") == 0 && out)
		return fed_escrow_key(dir, out, pass);
	return cli_usage(fed_usage);
}
