/* fuzz_detect.c: what the ransomware signals read of a file's bytes (any file of the shop is
 * untrusted): its magic, the randomness of its blocks, the sampled profile fed in pieces of
 * every size, a ransom note's text, and a name's extension. Properties: the profile counts no
 * more random blocks than it sampled, at most 64, whatever the cut of the pieces; comparing
 * a file with itself gives no mark.
 * Input: a file's bytes; its first byte also picks the piece size. */
#include <stdlib.h>
#include <string.h>

#include "coffre/detect.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* In an allocation of its exact size: ASan sees any read past it. */
	uint8_t *copy = malloc(size ? size : 1);
	FUZZ_CHECK(copy);
	if (size)
		memcpy(copy, data, size);
	enum detect_magic m = detect_magic(copy, size);
	FUZZ_CHECK(detect_magic_name(m) != NULL);
	size_t b = size < DETECT_BLOCK ? size : DETECT_BLOCK;
	int r = detect_block_random(copy, b), t = detect_block_random_text(copy, b);
	FUZZ_CHECK(r == 0 || r == 1);
	FUZZ_CHECK(t == 0 || t == 1);
	detect_note_text(copy, size);
	struct detect_profile *p = malloc(2 * sizeof *p);
	FUZZ_CHECK(p);
	detect_profile_init(&p[0]);
	detect_profile_init(&p[1]);
	size_t piece = size ? (size_t)copy[0] * 37 + 1 : 1;
	for (size_t off = 0; off < size; off += piece)
		detect_profile_feed(&p[0], copy + off, size - off < piece ? size - off : piece);
	detect_profile_feed(&p[1], copy, size);
	detect_profile_end(&p[0]);
	detect_profile_end(&p[1]);
	for (int i = 0; i < 2; i++) {
		FUZZ_CHECK(p[i].random <= p[i].blocks && p[i].blocks <= 64);
		FUZZ_CHECK(p[i].size == size);
	}
	/* However the bytes came, the same file gives the same profile, and no mark on itself. */
	FUZZ_CHECK(p[0].blocks == p[1].blocks && p[0].random == p[1].random);
	FUZZ_CHECK(p[0].magic == p[1].magic && p[0].head_random == p[1].head_random);
	FUZZ_CHECK(detect_file_compare(&p[0], &p[1]) == 0);
	free(p);
	/* The bytes as a file name. */
	char name[300], ext[24];
	size_t n = size < sizeof name - 1 ? size : sizeof name - 1;
	memcpy(name, copy, n);
	name[n] = 0;
	detect_ext(name, ext, sizeof ext);
	FUZZ_CHECK(strlen(ext) < sizeof ext);
	detect_note_name(name, NULL, 0);
	free(copy);
	return 0;
}
