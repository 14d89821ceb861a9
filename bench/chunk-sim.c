/* chunk-sim.c: simulate what a deduplicating backup stores per day for several chunker
 * parameter sets, on copies of a dataset taken on successive days.
 *
 * Build: gcc -std=c17 -O2 -Wall -Wextra -Iinclude agent/backup/chunk.c bench/chunk-sim.c \
 *            -lsodium -lzstd -o /tmp/chunk-sim
 * Usage: chunk-sim [-p MIN/AVG/MAX]... DAY0 DAY1 ...   per-day new data, per parameter set
 *        chunk-sim -T [-p MIN/AVG/MAX]... DIR           chunking throughput over DIR (in RAM,
 *                                                       best of 3 passes)
 *
 * Every regular file of a day is chunked in path order; a chunk is new if its BLAKE2b-256
 * id was not seen on an earlier day (or earlier that day). New chunks are compressed one by
 * one with zstd -3 (raw size if that does not shrink them). Metadata: 40 bytes of frame per
 * new chunk, plus each file's chunk list (36-byte entries: id + 4-byte length) split into
 * leaves after every entry whose id's first 4 bytes (little-endian) are 0 mod 64; the bytes
 * of leaves not seen before count, and their 40-byte frames are shown apart. */
#define _XOPEN_SOURCE 700
#include "coffre/chunk.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#define ID_BYTES 32
#define ENTRY_BYTES (ID_BYTES + 4)
#define FRAME_BYTES 40
#define LEAF_MOD 64
#define MAX_PARAMS 32

static void die(const char *what)
{
	fprintf(stderr, "chunk-sim: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p && n)
		die("realloc");
	return p;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Open-addressing set of 32-byte ids (linear probing; an all-zero slot is empty, and an
 * all-zero id is as unlikely as any other collision). */
struct idset {
	uint8_t (*slot)[ID_BYTES];
	size_t cap, n;
};

static size_t id_hash(const uint8_t *id)
{
	uint64_t h;
	memcpy(&h, id, sizeof h);	/* ids are uniform already */
	return (size_t)h;
}

static int slot_empty(const uint8_t *s)
{
	static const uint8_t zero[ID_BYTES];
	return !memcmp(s, zero, ID_BYTES);
}

static void idset_grow(struct idset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 1 << 16;
	struct idset t = { calloc(cap, ID_BYTES), cap, 0 };
	if (!t.slot)
		die("calloc");
	for (size_t i = 0; i < s->cap; i++) {
		if (slot_empty(s->slot[i]))
			continue;
		size_t j = id_hash(s->slot[i]) & (t.cap - 1);
		while (!slot_empty(t.slot[j]))
			j = (j + 1) & (t.cap - 1);
		memcpy(t.slot[j], s->slot[i], ID_BYTES);
		t.n++;
	}
	free(s->slot);
	*s = t;
}

/* Returns 1 if ${id} was added (new), 0 if it was already there. */
static int idset_add(struct idset *s, const uint8_t *id)
{
	if ((s->n + 1) * 2 > s->cap)
		idset_grow(s);
	size_t j = id_hash(id) & (s->cap - 1);
	for (; !slot_empty(s->slot[j]); j = (j + 1) & (s->cap - 1))
		if (!memcmp(s->slot[j], id, ID_BYTES))
			return 0;
	memcpy(s->slot[j], id, ID_BYTES);
	s->n++;
	return 1;
}

/* The regular files of a tree, sorted by path. */
static char **g_paths;
static size_t g_npaths, g_cappaths;

static int walk_cb(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)f;
	if (type != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	if (g_npaths == g_cappaths) {
		g_cappaths = g_cappaths ? g_cappaths * 2 : 4096;
		g_paths = xrealloc(g_paths, g_cappaths * sizeof *g_paths);
	}
	g_paths[g_npaths] = strdup(path);
	if (!g_paths[g_npaths++])
		die("strdup");
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_tree(const char *root, char ***paths, size_t *n)
{
	g_paths = NULL;
	g_npaths = g_cappaths = 0;
	if (nftw(root, walk_cb, 64, FTW_PHYS) != 0)
		die(root);
	qsort(g_paths, g_npaths, sizeof *g_paths, cmp_str);
	*paths = g_paths;
	*n = g_npaths;
}

static void free_list(char **paths, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

static uint8_t *read_file(const char *path, size_t *len, uint8_t *buf, size_t *cap)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		die(path);
	if ((size_t)st.st_size > *cap) {
		*cap = (size_t)st.st_size;
		buf = xrealloc(buf, *cap);
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die(path);
		if (r == 0)
			break;	/* shrank meanwhile */
		got += (size_t)r;
	}
	close(fd);
	*len = got;
	return buf;
}

struct sim {
	struct chunk_params p;
	struct chunker c;
	struct idset chunks, leaves;
};

struct day_stats {
	uint64_t files, bytes, chunks, new_chunks, new_raw, new_zst;
	uint64_t new_leaves, new_leaf_bytes;
};

static ZSTD_CCtx *g_zc;
static uint8_t *g_zbuf;
static size_t g_zcap;

static uint64_t zsize(const uint8_t *b, size_t len)
{
	size_t bound = ZSTD_compressBound(len);
	if (bound > g_zcap) {
		g_zcap = bound;
		g_zbuf = xrealloc(g_zbuf, g_zcap);
	}
	size_t z = ZSTD_compressCCtx(g_zc, g_zbuf, g_zcap, b, len, 3);
	if (ZSTD_isError(z) || z >= len)
		return len;
	return z;
}

/* A finished leaf of a chunk list: count it if it is new. */
static void leaf_done(struct sim *s, struct day_stats *d, const uint8_t *leaf, size_t len)
{
	uint8_t id[ID_BYTES];
	if (!len)
		return;
	crypto_generichash(id, sizeof id, leaf, len, NULL, 0);
	if (idset_add(&s->leaves, id)) {
		d->new_leaves++;
		d->new_leaf_bytes += len;
	}
}

static void sim_file(struct sim *s, struct day_stats *d, const uint8_t *b, size_t len)
{
	static uint8_t *leaf;
	static size_t leafcap;
	size_t leaflen = 0;

	d->files++;
	d->bytes += len;
	for (size_t off = 0; off < len;) {
		size_t k = chunk_cut(&s->c, b + off, len - off);
		uint8_t id[ID_BYTES];
		crypto_generichash(id, sizeof id, b + off, k, NULL, 0);
		d->chunks++;
		if (idset_add(&s->chunks, id)) {
			d->new_chunks++;
			d->new_raw += k;
			d->new_zst += zsize(b + off, k);
		}
		if (leaflen + ENTRY_BYTES > leafcap) {
			leafcap = leafcap ? leafcap * 2 : 1 << 16;
			leaf = xrealloc(leaf, leafcap);
		}
		memcpy(leaf + leaflen, id, ID_BYTES);
		for (int i = 0; i < 4; i++)
			leaf[leaflen + ID_BYTES + i] = (uint8_t)(k >> (8 * i));
		leaflen += ENTRY_BYTES;
		uint32_t first = (uint32_t)id[0] | (uint32_t)id[1] << 8 | (uint32_t)id[2] << 16
			| (uint32_t)id[3] << 24;
		if (first % LEAF_MOD == 0) {
			leaf_done(s, d, leaf, leaflen);
			leaflen = 0;
		}
		off += k;
	}
	leaf_done(s, d, leaf, leaflen);
}

static int parse_params(const char *arg, struct chunk_params *p)
{
	unsigned mn, av, mx;
	char end;
	if (sscanf(arg, "%u/%u/%u%c", &mn, &av, &mx, &end) != 3)
		return -1;
	p->min = mn;
	p->avg = av;
	p->max = mx;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: chunk-sim [-p MIN/AVG/MAX]... DAY0 [DAY1 ...]\n"
		"       chunk-sim -T [-p MIN/AVG/MAX]... DIR\n");
	exit(2);
}

/* Chunking alone: all files of ${dir} are loaded first, then timed through chunk_cut. */
static void throughput(struct sim *sims, size_t nsims, const char *dir)
{
	char **paths;
	size_t n, total = 0;
	list_tree(dir, &paths, &n);
	uint8_t **data = xrealloc(NULL, n * sizeof *data);
	size_t *lens = xrealloc(NULL, n * sizeof *lens);
	for (size_t i = 0; i < n; i++) {
		size_t cap = 0;
		data[i] = read_file(paths[i], &lens[i], NULL, &cap);
		total += lens[i];
	}
	printf("%zu files, %zu bytes in memory\n", n, total);
	for (size_t k = 0; k < nsims; k++) {
		size_t chunks = 0;
		double first = 0, best = 0;
		for (int pass = 0; pass < 3; pass++) {
			double t0 = now();
			chunks = 0;
			for (size_t i = 0; i < n; i++)
				for (size_t off = 0; off < lens[i]; chunks++)
					off += chunk_cut(&sims[k].c, data[i] + off, lens[i] - off);
			double t = now() - t0;
			if (!pass)
				first = t;
			if (!pass || t < best)
				best = t;
		}
		printf("min %7u avg %7u max %7u: %8zu chunks, first pass %.3f s = %.0f MB/s, "
			"best of 3 %.3f s = %.0f MB/s\n", sims[k].p.min, sims[k].p.avg,
			sims[k].p.max, chunks, first, (double)total / first / 1e6, best,
			(double)total / best / 1e6);
	}
	double t0 = now();
	uint8_t id[ID_BYTES];
	for (size_t i = 0; i < n; i++)
		crypto_generichash(id, sizeof id, data[i], lens[i], NULL, 0);
	double t = now() - t0;
	printf("for comparison, BLAKE2b-256 of every file: %.3f s, %.0f MB/s\n", t,
		(double)total / t / 1e6);
	for (size_t i = 0; i < n; i++)
		free(data[i]);
	free(data);
	free(lens);
	free_list(paths, n);
}

int main(int argc, char **argv)
{
	struct sim sims[MAX_PARAMS];
	size_t nsims = 0;
	int tmode = 0, opt;
	static const uint8_t seed[32] = "chunk-sim fixed seed";

	if (sodium_init() < 0)
		return 1;
	memset(sims, 0, sizeof sims);
	while ((opt = getopt(argc, argv, "p:T")) != -1) {
		if (opt == 'T') {
			tmode = 1;
		} else if (opt == 'p' && nsims < MAX_PARAMS) {
			if (parse_params(optarg, &sims[nsims].p) < 0)
				usage();
			nsims++;
		} else {
			usage();
		}
	}
	if (optind >= argc)
		usage();
	if (!nsims) {
		/* Defaults: min = avg/4 and avg/2, max = 4 avg. */
		static const uint32_t avgs[] = { 4096, 8192, 16384, 65536 };
		for (size_t i = 0; i < sizeof avgs / sizeof avgs[0]; i++) {
			for (uint32_t div = 4; div >= 2; div /= 2) {
				sims[nsims].p.min = avgs[i] / div;
				sims[nsims].p.avg = avgs[i];
				sims[nsims].p.max = avgs[i] * 4;
				nsims++;
			}
		}
	}
	for (size_t k = 0; k < nsims; k++) {
		if (chunk_init(&sims[k].c, &sims[k].p, seed) < 0) {
			fprintf(stderr, "chunk-sim: invalid parameters %u/%u/%u\n",
				sims[k].p.min, sims[k].p.avg, sims[k].p.max);
			return 2;
		}
	}
	if (tmode) {
		throughput(sims, nsims, argv[optind]);
		return 0;
	}

	g_zc = ZSTD_createCCtx();
	if (!g_zc)
		die("ZSTD_createCCtx");
	uint8_t *buf = NULL;
	size_t cap = 0;
	printf("%-22s %3s %8s %8s %8s %13s %13s %7s %10s %11s %13s %6s\n", "params", "day",
		"chunks", "newchk", "avgchk", "new_raw", "new_zstd3", "newleaf", "leaf_bytes",
		"leaf_frames", "meta(chk+lf)", "time");
	for (size_t k = 0; k < nsims; k++) {
		struct sim *s = &sims[k];
		char name[40];
		snprintf(name, sizeof name, "%u/%u/%u", s->p.min, s->p.avg, s->p.max);
		for (int day = 0; optind + day < argc; day++) {
			struct day_stats d = { 0 };
			char **paths;
			size_t n;
			double t0 = now();
			list_tree(argv[optind + day], &paths, &n);
			for (size_t i = 0; i < n; i++) {
				size_t len;
				buf = read_file(paths[i], &len, buf, &cap);
				sim_file(s, &d, buf, len);
			}
			free_list(paths, n);
			uint64_t meta = d.new_chunks * FRAME_BYTES + d.new_leaf_bytes;
			printf("%-22s %3d %8llu %8llu %8.0f %13llu %13llu %7llu %10llu %11llu "
				"%13llu %5.1fs\n", name, day, (unsigned long long)d.chunks,
				(unsigned long long)d.new_chunks,
				d.chunks ? (double)d.bytes / (double)d.chunks : 0.0,
				(unsigned long long)d.new_raw, (unsigned long long)d.new_zst,
				(unsigned long long)d.new_leaves,
				(unsigned long long)d.new_leaf_bytes,
				(unsigned long long)(d.new_leaves * FRAME_BYTES),
				(unsigned long long)meta, now() - t0);
			fflush(stdout);
		}
		free(s->chunks.slot);
		free(s->leaves.slot);
	}
	free(buf);
	free(g_zbuf);
	ZSTD_freeCCtx(g_zc);
	return 0;
}
