/* detect_tool: the ransomware signals of files, for tests and measurements.
 *   detect_tool profile FILE...	one line a file: magic, head random, blocks, random, size
 *   detect_tool compare BEFORE AFTER	the flags of detect_file_compare, as hex
 *   detect_tool chi2 FILE...		the chi-square of every whole 4096-byte block, one a line
 *   detect_tool canary csv|pdf|ods HEXSEED	the canary's bytes on stdout
 *   detect_tool note FILE...		1 or 0 a file: its name, then its text, read as a note */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "coffre/detect.h"

static int profile(const char *path, struct detect_profile *p)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	uint8_t buf[65536];
	size_t n;
	detect_profile_init(p);
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		detect_profile_feed(p, buf, n);
	detect_profile_end(p);
	int bad = ferror(f);
	fclose(f);
	return bad ? -1 : 0;
}

static int chi2_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	uint8_t buf[DETECT_BLOCK];
	while (fread(buf, 1, sizeof buf, f) == sizeof buf) {
		uint64_t count[256] = { 0 }, sq = 0;
		for (size_t i = 0; i < sizeof buf; i++)
			count[buf[i]]++;
		for (int i = 0; i < 256; i++)
			sq += count[i] * count[i];
		printf("%.1f %d %d\n", 256.0 * (double)sq / DETECT_BLOCK - DETECT_BLOCK,
			detect_block_random(buf, sizeof buf), detect_block_random_text(buf, sizeof buf));
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	static struct detect_profile a, b;
	if (argc >= 3 && strcmp(argv[1], "profile") == 0) {
		for (int i = 2; i < argc; i++) {
			if (profile(argv[i], &a))
				return 1;
			printf("%s %d %u %u %llu %s\n", detect_magic_name(a.magic), a.head_random,
				a.blocks, a.random, (unsigned long long)a.size, argv[i]);
		}
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "compare") == 0) {
		if (profile(argv[2], &a) || profile(argv[3], &b))
			return 1;
		printf("%x\n", detect_file_compare(&a, &b));
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "chi2") == 0) {
		for (int i = 2; i < argc; i++)
			if (chi2_file(argv[i]))
				return 1;
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "canary") == 0) {
		enum detect_canary_kind k = strcmp(argv[2], "pdf") == 0 ? DETECT_CANARY_PDF :
			strcmp(argv[2], "ods") == 0 ? DETECT_CANARY_ODS : DETECT_CANARY_CSV;
		uint8_t seed[16];
		uint8_t *p;
		size_t n;
		if (util_unhex(seed, sizeof seed, argv[3]) || detect_canary_make(k, seed, &p, &n))
			return 1;
		fwrite(p, 1, n, stdout);
		free(p);
		return fflush(stdout) ? 1 : 0;
	}
	if (argc >= 3 && strcmp(argv[1], "note") == 0) {
		for (int i = 2; i < argc; i++) {
			struct buf t = { 0 };
			const char *slash = strrchr(argv[i], '/');
			int name = detect_note_name(slash ? slash + 1 : argv[i], NULL, 0);
			if (util_read_file(argv[i], 1 << 20, &t, NULL))
				return 1;
			printf("%d %d %s\n", name, detect_note_text(t.p, t.len), argv[i]);
			buf_free(&t);
		}
		return 0;
	}
	fprintf(stderr, "usage: detect_tool profile|compare|chi2|canary|note ...\n");
	return 2;
}
