/* backup_detect.c: a ransomware's marks on what a backup reads (detect.h). A changed file's
 * new bytes are profiled as they are read (bstore_read); its previous version's from its
 * chunks in the repository: all of them up to WHOLE_MAX bytes, so that both versions are
 * sampled at the same places (a database half made of random-looking pages must not look
 * as if it turned random); beyond, the first (its magic and header) and seven more spread
 * over it, so that the cost stays bounded whatever its size.
 *
 * The packer gives a second opinion for free (struct bseal): whether the frames of the
 * previous version's chunks compressed (the index says), whether those of the new chunks
 * did (the workers say), and whether the two versions share a chunk. It needs no byte of the
 * previous version, so it still speaks when the profile cannot: once the spool's packs
 * were cleared after a push. */
#include <stdlib.h>
#include <string.h>

#include "backup/backup_internal.h"
#include "coffre/blob.h"
#include "coffre/detect.h"
#include "coffre/pack.h"
#include "coffre/packer.h"
#include "coffre/tree_walk.h"
#include "base/util.h"

#define BEFORE_CHUNKS 8
#define WHOLE_MAX (8u << 20)
#define REFS_MAX 100000	/* a longer list is only sampled among its first refs */
/* Below this many new bytes the second opinion abstains: a short file alone in its frame
 * may not compress by the 1/32 the packer asks, ciphertext or not. */
#define SEAL_MIN_BYTES 8192

struct bseal {
	uint8_t (*prev)[32];	/* the previous version's chunk ids, sorted */
	size_t nprev;
	uint64_t prev_bytes, prev_zbytes;	/* of those in the index, and compressed */
	uint64_t new_bytes, raw_bytes;	/* the new chunks, and those stored as they are */
	int shared;		/* a new chunk is one of the previous version's */
	int told;		/* the profile already counted the file as turned random */
	char path[];
};

struct refs {
	uint8_t (*id)[32];
	size_t n, cap;
};

static int add_ref(void *ctx, const uint8_t id[32], uint32_t len)
{
	(void)len;
	struct refs *l = ctx;
	if (l->n >= REFS_MAX)
		return 1;	/* enough to sample from */
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		void *p = realloc(l->id, cap * sizeof *l->id);
		if (!p)
			return CF_ENOMEM;
		l->id = p;
		l->cap = cap;
	}
	memcpy(l->id[l->n++], id, 32);
	return 0;
}

static int id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* The second opinion's view of the previous version, from its refs and the index. */
static struct bseal *seal_new(struct run *R, const struct refs *l, const char *path)
{
	size_t plen = strlen(path) + 1;
	struct bseal *s = calloc(1, sizeof *s + plen);
	if (!s || !(s->prev = malloc(l->n * sizeof *s->prev))) {
		free(s);
		return NULL;
	}
	memcpy(s->path, path, plen);
	memcpy(s->prev, l->id, l->n * sizeof *s->prev);
	s->nprev = l->n;
	qsort(s->prev, s->nprev, sizeof *s->prev, id_cmp);
	for (size_t i = 0; i < l->n; i++) {
		struct blob_loc loc;
		if (blobidx_get(R->x, l->id[i], &loc) != 0)
			continue;
		s->prev_bytes += loc.e.raw;
		if (loc.e.flags & PACK_FLAG_ZSTD)
			s->prev_zbytes += loc.e.raw;
	}
	return s;
}

int bdetect_before(struct run *R, const struct tree_entry *pe, const char *path,
	struct detect_profile *ret, struct bseal **ret_seal)
{
	struct refs l = { 0 };
	struct cf_error err = { 0 };
	detect_profile_init(ret);
	*ret_seal = NULL;
	int rc = tree_walk_refs(blob_reader_load, R->br, pe, add_ref, &l, &err);
	if (rc < 0 || l.n == 0) {
		free(l.id);
		return -1;
	}
	*ret_seal = seal_new(R, &l, path);
	size_t max = pe->size <= WHOLE_MAX ? l.n : BEFORE_CHUNKS;
	size_t step = l.n > max ? l.n / max : 1, fed = 0;
	for (size_t i = 0; i < l.n && fed < max; i += step, fed++) {
		struct buf b = { 0 };
		if (blob_reader_get(R->br, l.id[i], &b, &err) != 0) {
			buf_free(&b);
			free(l.id);
			return -1;
		}
		detect_profile_feed(ret, b.p, b.len);
		buf_free(&b);
	}
	detect_profile_end(ret);
	free(l.id);
	return 0;
}

void bdetect_seal_chunk(struct run *R, struct bseal *s, const struct packer_chunk *c)
{
	s->new_bytes += c->len;
	if (!s->shared && bsearch(c->id, s->prev, s->nprev, sizeof *s->prev, id_cmp))
		s->shared = 1;
	struct blob_loc loc;
	if (c->flags & PACKER_STORED) {
		if (c->flags & PACKER_RAW)
			s->raw_bytes += c->len;
	} else if (blobidx_get(R->x, c->id, &loc) == 0 && !(loc.e.flags & PACK_FLAG_ZSTD)) {
		s->raw_bytes += c->len;	/* stored before, by another file or run */
	}
}

void bdetect_seal_free(struct bseal *s)
{
	if (s)
		free(s->prev);
	free(s);
}

static void note(struct run *R, const char *path)
{
	if (!R->st.suspect_path[0])
		snprintf(R->st.suspect_path, sizeof R->st.suspect_path, "%s", path);
}

void bdetect_after(struct run *R, const char *path, const struct detect_profile *before,
	struct detect_profile *after, struct bseal *seal)
{
	detect_profile_end(after);
	unsigned f = detect_file_compare(before, after);
	if (f & DETECT_FILE_FORMAT_BREAK)
		R->st.suspect_format++;
	if (f & DETECT_FILE_TURNED_RANDOM) {
		R->st.suspect_random++;
		if (seal)
			seal->told = 1;
	}
	if (f)
		note(R, path);
}

void bdetect_seal_end(struct run *R, const struct bseal *s)
{
	/* Most of the previous version compressed, next to none of the new one does, and
	 * nothing of it is left: rewritten whole into something that looks like ciphertext. */
	if (s->told || s->new_bytes < SEAL_MIN_BYTES || s->shared || s->prev_bytes == 0 ||
	    2 * s->prev_zbytes < s->prev_bytes || 10 * s->raw_bytes < 9 * s->new_bytes)
		return;
	R->st.suspect_random++;
	R->st.suspect_sealed++;
	note(R, s->path);
}

void bdetect_new(struct run *R, const char *path, const char *name)
{
	if (detect_note_name(name, NULL, 0)) {
		R->st.suspect_notes++;
		note(R, path);
	}
}
