/* blob_reader.c: reading blobs by id through the index, with a few pack files kept open. */
#include "coffre/blob.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coffre/dst.h"
#include "coffre/error.h"
#include "store/blob_memo.h"
#include "store/pack_internal.h"
#include "store/repo_internal.h"

#define OPEN_PACKS 8
#define OPEN_FRAMES 4
/* With exact reads (a drill), a frame evicted and needed again is fetched again, beyond what
 * the drill counted: more frames are kept. Measured on a small shop's drills of 512 KiB,
 * 4 frames a type fetched up to a third more than chosen, 64 nothing more. */
#define OPEN_FRAMES_EXACT 64
/* A frame this large (only a huge blob makes one) is not kept once read; with exact reads,
 * which keep many more, smaller ones already (64 a type of 256 KiB at most: 32 MiB). */
#define KEEP_FRAME_MAX (2u << 20)
#define KEEP_FRAME_MAX_EXACT (256u << 10)

struct blob_reader {
	struct repo *r;
	struct blobidx *x;
	struct {
		uint8_t id[ID_LEN];
		int fd;
		uint64_t used;
	} open[OPEN_PACKS];
	uint64_t tick;
	/* Remote packs: how many blobs this run read from each. A pack read often is fetched
	 * whole once (a restore of many files); a pack read once or twice costs only ranged
	 * reads of its frames (one file). */
	struct hits {
		uint8_t id[ID_LEN];
		uint32_t n;
	} *hits;
	size_t nhits, caphits;
	struct prefetch *pf;
	/* Blobs read one after the other usually share a frame: it is opened once. A few
	 * frames per blob type are kept, so that the chunk-list and folder nodes read along
	 * the way, and a chunk many files share (a logo in every invoice), do not push out
	 * the frame of the file being read. */
	struct pack_frame fc[_BLOB_TYPE_MAX][OPEN_FRAMES_EXACT];
	uint64_t fc_used[_BLOB_TYPE_MAX][OPEN_FRAMES_EXACT];
	int nframes;		/* slots in use a type: OPEN_FRAMES, or OPEN_FRAMES_EXACT */
};

#define WHOLE_PACK_AFTER 4

/* Prefetch for a remote repository: the packs a restore will read, in the order it first
 * reads them (the plan), fetched ahead by threads each with its own connection, into unnamed
 * files in the cache, so that a transfer is always under way while blobs are opened. Only
 * the span of each pack that holds planned frames travels, and only when those frames fill
 * at least half of it; sparser packs are read frame by frame as before. */
#define PF_THREADS 2
#define PF_AHEAD 2		/* packs fetched past the one being read */
#define PF_KEEP 2		/* fetched packs kept behind it, for blobs met again */
/* Beyond those, copies the plan still needs further on (a chunk many files share, a file
 * restored again under another name): at most this many, 16 MiB each by default. Dropped,
 * such a pack was read again frame by frame, then fetched whole a second time. */
#define PF_HOLD 16
#define PF_RANGE (2u << 20)	/* bytes per request: bounds each transfer's memory */

enum { PF_NONE, PF_WAIT, PF_FETCHING, PF_READY, PF_FAILED, PF_DROPPED };

struct plan_pack {
	uint8_t id[ID_LEN];
	uint64_t lo, hi;	/* span of the planned frames */
	uint64_t need;		/* their bytes */
	size_t last;		/* the newest plan index when one of them was last planned */
	int state;
	int fd;
};

struct prefetch {
	struct plan_pack *p;
	size_t n, cap;
	uint32_t *slot;		/* open addressing: plan index + 1 */
	size_t nslot;
	char *cache;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th[PF_THREADS];
	struct dst *d[PF_THREADS];
	int nth;
	size_t next;		/* next plan index to fetch */
	size_t pos;		/* highest plan index read so far */
	size_t dropped;		/* copies below this index are closed */
	int stop;
};

int blob_reader_new(struct repo *r, struct blobidx *x, struct blob_reader **ret,
	struct cf_error *err)
{
	struct blob_reader *br = calloc(1, sizeof *br);
	if (!br)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	br->r = r;
	br->x = x;
	br->nframes = r->exact_reads ? OPEN_FRAMES_EXACT : OPEN_FRAMES;
	for (int i = 0; i < OPEN_PACKS; i++)
		br->open[i].fd = -1;
	*ret = br;
	return 0;
}

static void prefetch_free(struct prefetch *pf);

void blob_reader_free(struct blob_reader *br)
{
	if (!br)
		return;
	prefetch_free(br->pf);
	for (int i = 0; i < OPEN_PACKS; i++)
		if (br->open[i].fd >= 0)
			close(br->open[i].fd);
	free(br->hits);
	for (int t = 0; t < _BLOB_TYPE_MAX; t++)
		for (int i = 0; i < br->nframes; i++)
			pack_frame_release(&br->fc[t][i]);
	free(br);
}

static int pack_fd(struct blob_reader *br, const uint8_t id[ID_LEN], struct cf_error *err)
{
	int victim = 0;
	for (int i = 0; i < OPEN_PACKS; i++) {
		if (br->open[i].fd >= 0 && memcmp(br->open[i].id, id, ID_LEN) == 0) {
			br->open[i].used = ++br->tick;
			return br->open[i].fd;
		}
		if (br->open[i].used < br->open[victim].used)
			victim = i;
	}
	char name[80];
	int fd;
	pack_name(name, id);
	int rc = dst_open_read(br->r->d, name, &fd, err);
	if (rc)
		return rc == CF_ENOENT ? cf_error_set(err, CF_ENOENT, "pack '%s/%s' is missing",
						 dst_url(br->r->d), name) : rc;
	if (br->open[victim].fd >= 0)
		close(br->open[victim].fd);
	memcpy(br->open[victim].id, id, ID_LEN);
	br->open[victim].fd = fd;
	br->open[victim].used = ++br->tick;
	return fd;
}

/* The local copy of a remote pack once it is read often: fetched whole into an unnamed file
 * in the cache, kept among the open packs. -1 when ranged reads are the better deal. */
static int remote_fd(struct blob_reader *br, const uint8_t id[ID_LEN])
{
	for (int i = 0; i < OPEN_PACKS; i++) {
		if (br->open[i].fd >= 0 && memcmp(br->open[i].id, id, ID_LEN) == 0) {
			br->open[i].used = ++br->tick;
			return br->open[i].fd;
		}
	}
	size_t h = 0;
	while (h < br->nhits && memcmp(br->hits[h].id, id, ID_LEN) != 0)
		h++;
	if (h == br->nhits) {
		if (br->nhits == br->caphits) {
			size_t cap = br->caphits ? 2 * br->caphits : 64;
			void *p = realloc(br->hits, cap * sizeof *br->hits);
			if (!p)
				return -1;
			br->hits = p;
			br->caphits = cap;
		}
		memcpy(br->hits[h].id, id, ID_LEN);
		br->hits[h].n = 0;
		br->nhits++;
	}
	if (++br->hits[h].n < WHOLE_PACK_AFTER || br->r->exact_reads)
		return -1;
	char name[80];
	pack_name(name, id);
	char *cache = repo_cache_dir(br->r);
	int fd = cache ? open(cache, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600) : -1;
	free(cache);
	struct buf b = { 0 };
	if (fd < 0 || dst_get(br->r->d, name, REPO_PACK_FILE_MAX(br->r), &b,
			      NULL) != 0) {
		if (fd >= 0)
			close(fd);
		buf_free(&b);
		return -1;
	}
	size_t off = 0;
	while (off < b.len) {
		ssize_t n = write(fd, b.p + off, b.len - off);
		if (n <= 0) {
			close(fd);
			buf_free(&b);
			return -1;
		}
		off += (size_t)n;
	}
	buf_free(&b);
	int victim = 0;
	for (int i = 1; i < OPEN_PACKS; i++)
		if (br->open[i].used < br->open[victim].used)
			victim = i;
	if (br->open[victim].fd >= 0)
		close(br->open[victim].fd);
	memcpy(br->open[victim].id, id, ID_LEN);
	br->open[victim].fd = fd;
	br->open[victim].used = ++br->tick;
	return fd;
}

/* ---- prefetch ---- */

static size_t plan_find(const struct prefetch *pf, const uint8_t id[ID_LEN])
{
	if (!pf->nslot)
		return SIZE_MAX;
	size_t mask = pf->nslot - 1, j = le32_get(id) & mask;
	while (pf->slot[j]) {
		size_t i = pf->slot[j] - 1;
		if (memcmp(pf->p[i].id, id, ID_LEN) == 0)
			return i;
		j = (j + 1) & mask;
	}
	return SIZE_MAX;
}

static int plan_rehash(struct prefetch *pf, size_t nslot)
{
	uint32_t *slot = calloc(nslot, sizeof *slot);
	if (!slot)
		return CF_ENOMEM;
	for (size_t i = 0; i < pf->n; i++) {
		size_t j = le32_get(pf->p[i].id) & (nslot - 1);
		while (slot[j])
			j = (j + 1) & (nslot - 1);
		slot[j] = (uint32_t)(i + 1);
	}
	free(pf->slot);
	pf->slot = slot;
	pf->nslot = nslot;
	return 0;
}

int blob_reader_plan(struct blob_reader *br, const uint8_t id[32])
{
	struct blob_loc loc;
	/* Local packs need no plan; exact reads fetch frame by frame; a missing blob fails when
	 * read. */
	if (dst_is_local(br->r->d) || br->r->exact_reads || blobidx_get(br->x, id, &loc) != 0)
		return 0;
	struct prefetch *pf = br->pf;
	if (!pf) {
		if (!(pf = br->pf = calloc(1, sizeof *pf)))
			return CF_ENOMEM;
		pthread_mutex_init(&pf->mu, NULL);
		pthread_cond_init(&pf->cv, NULL);
	}
	if (pf->nth)
		return 0;	/* planned already */
	size_t i = plan_find(pf, loc.pack);
	if (i == SIZE_MAX) {
		if (pf->n >= UINT32_MAX - 1)
			return 0;
		if (pf->n == pf->cap) {
			size_t cap = pf->cap ? 2 * pf->cap : 64;
			void *p = realloc(pf->p, cap * sizeof *pf->p);
			if (!p)
				return CF_ENOMEM;
			pf->p = p;
			pf->cap = cap;
		}
		if ((pf->n + 1) * 2 > pf->nslot &&
		    plan_rehash(pf, pf->nslot ? 2 * pf->nslot : 256) != 0)
			return CF_ENOMEM;
		i = pf->n++;
		struct plan_pack *p = &pf->p[i];
		memcpy(p->id, loc.pack, ID_LEN);
		p->lo = UINT64_MAX;
		p->hi = p->need = 0;
		p->fd = -1;
		size_t j = le32_get(p->id) & (pf->nslot - 1);
		while (pf->slot[j])
			j = (j + 1) & (pf->nslot - 1);
		pf->slot[j] = (uint32_t)(i + 1);
	}
	struct plan_pack *p = &pf->p[i];
	uint64_t end = (uint64_t)loc.e.offset + loc.e.stored;
	if (loc.e.offset < p->lo)
		p->lo = loc.e.offset;
	if (end > p->hi)
		p->hi = end;
	p->need += loc.e.stored;
	p->last = pf->n - 1;
	return 0;
}

/* Fetches the planned span of pack ${p} into an unnamed file of the cache: its fd, or -1. */
static int fetch_span(struct prefetch *pf, struct dst *d, const struct plan_pack *p,
	uint8_t *buf)
{
	int fd = open(pf->cache, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	char name[80];
	pack_name(name, p->id);
	for (uint64_t off = p->lo; off < p->hi;) {
		size_t n = p->hi - off < PF_RANGE ? (size_t)(p->hi - off) : PF_RANGE;
		if (dst_get_range(d, name, off, n, buf, NULL) != 0)
			goto fail;
		for (size_t w = 0; w < n;) {
			ssize_t k = pwrite(fd, buf + w, n - w, (off_t)(off + w));
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				goto fail;
			w += (size_t)k;
		}
		off += n;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

struct pf_arg {
	struct prefetch *pf;
	struct dst *d;
};

static void *prefetch_main(void *arg)
{
	struct prefetch *pf = ((struct pf_arg *)arg)->pf;
	struct dst *d = ((struct pf_arg *)arg)->d;
	free(arg);
	uint8_t *buf = malloc(PF_RANGE);
	pthread_mutex_lock(&pf->mu);
	for (;;) {
		while (!pf->stop && pf->next < pf->n && pf->next > pf->pos + PF_AHEAD)
			pthread_cond_wait(&pf->cv, &pf->mu);
		if (pf->stop || pf->next >= pf->n)
			break;
		struct plan_pack *p = &pf->p[pf->next++];
		if (p->state != PF_WAIT)
			continue;
		p->state = PF_FETCHING;
		pthread_mutex_unlock(&pf->mu);
		int fd = buf ? fetch_span(pf, d, p, buf) : -1;
		pthread_mutex_lock(&pf->mu);
		p->fd = fd;
		p->state = fd >= 0 ? PF_READY : PF_FAILED;
		pthread_cond_broadcast(&pf->cv);
	}
	pthread_mutex_unlock(&pf->mu);
	free(buf);
	return NULL;
}

int blob_reader_prefetch(struct blob_reader *br, struct cf_error *err)
{
	struct prefetch *pf = br->pf;
	if (!pf || pf->nth || pf->n == 0)
		return 0;
	for (size_t i = 0; i < pf->n; i++) {
		struct plan_pack *p = &pf->p[i];
		p->state = p->need * 2 >= p->hi - p->lo ? PF_WAIT : PF_NONE;
	}
	if (!(pf->cache = repo_cache_dir(br->r)))
		return 0;	/* no cache: frame by frame, as without a plan */
	for (int t = 0; t < PF_THREADS; t++) {
		struct pf_arg *a = malloc(sizeof *a);
		struct cf_error e2 = { 0 };
		if (!a || dst_clone(br->r->d, &pf->d[t], &e2) != 0) {
			free(a);
			break;
		}
		a->pf = pf;
		a->d = pf->d[t];
		if (pthread_create(&pf->th[t], NULL, prefetch_main, a) != 0) {
			free(a);
			dst_free(pf->d[t]);
			pf->d[t] = NULL;
			break;
		}
		pf->nth++;
	}
	(void)err;
	return 0;
}

/* The fetched copy of a planned pack (waiting for it if under way), or -1; only for a frame
 * inside the span fetched (${e}). -2: its copy is gone already (more than PF_HOLD were held):
 * its frames are read one by one, never the whole pack again. */
static int planned_fd(struct blob_reader *br, const uint8_t id[ID_LEN],
	const struct pack_entry *e)
{
	struct prefetch *pf = br->pf;
	if (!pf || !pf->nth)
		return -1;
	size_t i = plan_find(pf, id);
	if (i == SIZE_MAX || e->offset < pf->p[i].lo ||
	    (uint64_t)e->offset + e->stored > pf->p[i].hi)
		return -1;
	pthread_mutex_lock(&pf->mu);
	if (pf->p[i].state == PF_NONE) {
		pthread_mutex_unlock(&pf->mu);
		return -1;
	}
	if (i > pf->pos) {
		pf->pos = i;
		/* The copies of packs well behind go, unless the plan needs them further on:
		 * those stay, PF_HOLD at most, the newest. */
		size_t held = 0;
		for (size_t k = i > PF_KEEP ? i - PF_KEEP : 0; k-- > pf->dropped;) {
			struct plan_pack *p = &pf->p[k];
			if (p->state != PF_READY)
				continue;
			if (p->last >= i && held < PF_HOLD) {
				held++;
				continue;
			}
			close(p->fd);
			p->fd = -1;
			p->state = PF_DROPPED;
		}
		while (pf->dropped + PF_KEEP < i && pf->p[pf->dropped].state != PF_READY)
			pf->dropped++;
		pthread_cond_broadcast(&pf->cv);
	}
	while (pf->p[i].state == PF_WAIT || pf->p[i].state == PF_FETCHING)
		pthread_cond_wait(&pf->cv, &pf->mu);
	int st = pf->p[i].state;
	int fd = st == PF_READY ? pf->p[i].fd : st == PF_DROPPED ? -2 : -1;
	pthread_mutex_unlock(&pf->mu);
	return fd;
}

static void prefetch_free(struct prefetch *pf)
{
	if (!pf)
		return;
	pthread_mutex_lock(&pf->mu);
	pf->stop = 1;
	pthread_cond_broadcast(&pf->cv);
	pthread_mutex_unlock(&pf->mu);
	for (int t = 0; t < pf->nth; t++)
		pthread_join(pf->th[t], NULL);
	for (int t = 0; t < PF_THREADS; t++)
		dst_free(pf->d[t]);
	for (size_t i = 0; i < pf->n; i++)
		if (pf->p[i].fd >= 0)
			close(pf->p[i].fd);
	pthread_mutex_destroy(&pf->mu);
	pthread_cond_destroy(&pf->cv);
	free(pf->p);
	free(pf->slot);
	free(pf->cache);
	free(pf);
}

/* The slot that holds ${e}'s frame, or the least recently used one of its type. */
static struct pack_frame *frame_slot(struct blob_reader *br, int t, const uint8_t pack[ID_LEN],
	const struct pack_entry *e)
{
	int victim = 0;
	for (int i = 0; i < br->nframes; i++) {
		struct pack_frame *f = &br->fc[t][i];
		if (f->ok && f->offset == e->offset && f->stored == e->stored &&
		    memcmp(f->pack, pack, ID_LEN) == 0) {
			victim = i;
			break;
		}
		if (br->fc_used[t][i] < br->fc_used[t][victim])
			victim = i;
	}
	br->fc_used[t][victim] = ++br->tick;
	return &br->fc[t][victim];
}

static int reader_get(struct blob_reader *br, const uint8_t id[32], struct buf *ret, int append,
	struct cf_error *err)
{
	int (*read)(const struct repo *, const struct pack_src *, const uint8_t *,
		const struct pack_entry *, struct pack_frame *, struct buf *, struct cf_error *) =
		append ? pack_append_blob_unverified : pack_read_blob_cached;
	struct blob_memo *memo = append ? NULL : br->r->memo;
	int kept = memo ? blob_memo_get(memo, id, ret) : 0;
	if (kept)
		return kept < 0 ? cf_error_set(err, kept, "out of memory") : 0;
	struct blob_loc loc;
	if (blobidx_get(br->x, id, &loc) != 0) {
		char hex[ID_HEX];
		util_hex(hex, id, ID_LEN);
		return cf_error_set(err, CF_ENOENT, "blob %.16s is not in the index", hex);
	}
	int rc;
	/* The cache is a local file: a type out of range only picks a slot, the frame's ad
	 * then refuses it. */
	int t = loc.e.type < _BLOB_TYPE_MAX ? loc.e.type : 0;
	struct pack_frame *fc = frame_slot(br, t, loc.pack, &loc.e);
	/* A frame not in the slot is opened (and, from a pack file, counted as fetched). */
	int again = fc->ok && fc->offset == loc.e.offset && fc->stored == loc.e.stored &&
		    memcmp(fc->pack, loc.pack, ID_LEN) == 0;
	if (dst_is_local(br->r->d)) {
		int fd = pack_fd(br, loc.pack, err);
		if (fd < 0)
			return fd;
		struct pack_src src = { .fd = fd };
		rc = read(br->r, &src, loc.pack, &loc.e, fc, ret, err);
		if (!again)
			dst_note_read(br->r->d, loc.e.stored);
	} else {
		/* A pack fetched ahead, or fetched whole; otherwise only this blob's frame
		 * travels (a ranged read). */
		int fd = planned_fd(br, loc.pack, &loc.e);
		if (fd == -1)
			fd = remote_fd(br, loc.pack);
		if (fd < 0)
			fd = -1;
		char name[80];
		pack_name(name, loc.pack);
		struct pack_src src = { .fd = fd, .d = br->r->d, .name = name };
		rc = read(br->r, &src, loc.pack, &loc.e, fc, ret, err);
	}
	if (rc == 0 && memo && loc.e.type == BLOB_TREE)
		blob_memo_put(memo, id, ret->p, ret->len);
	if (rc == 0 && !again && loc.e.type == BLOB_DATA && fc->plain) {
		atomic_fetch_add(&br->r->frames_stored, loc.e.stored);
		atomic_fetch_add(&br->r->frames_plain, fc->plain->len);
	}
	size_t keep = br->r->exact_reads ? KEEP_FRAME_MAX_EXACT : KEEP_FRAME_MAX;
	if (fc->plain && fc->plain->cap > keep)
		pack_frame_release(fc);
	if (rc && err) {
		char hex[ID_HEX], msg[sizeof err->msg];
		util_hex(hex, loc.pack, ID_LEN);
		int n = snprintf(msg, sizeof msg, "pack data/%.2s/%s: ", hex, hex);
		if (n > 0 && (size_t)n < sizeof msg) {
			memcpy(msg + n, err->msg, sizeof msg - (size_t)n - 1);
			msg[sizeof msg - 1] = 0;
			memcpy(err->msg, msg, sizeof msg);
		}
	}
	return rc;
}

int blob_reader_get(struct blob_reader *br, const uint8_t id[32], struct buf *ret,
	struct cf_error *err)
{
	return reader_get(br, id, ret, 0, err);
}

int blob_reader_append_unverified(struct blob_reader *br, const uint8_t id[32], struct buf *ret,
	struct cf_error *err)
{
	return reader_get(br, id, ret, 1, err);
}

int blob_reader_load(void *ctx, const uint8_t id[32], struct buf *ret, struct cf_error *err)
{
	return blob_reader_get(ctx, id, ret, err);
}
