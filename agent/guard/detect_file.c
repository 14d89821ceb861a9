/* detect_file.c: what a file's bytes look like (its magic, how random its sampled blocks are)
 * and what a change did to them (see detect.h). */
#include <string.h>

#include "coffre/detect.h"

#define BLOCK_MIN 1024		/* fewer bytes than this do not count as a block */
#define SAMPLES_MAX 64		/* kept samples: thinned to half when full */

/* The band of the chi-square over 256 byte counters that counts a block as random. Under
 * the uniform hypothesis the statistic follows a chi-square law with 255 degrees of freedom
 * (mean 255, deviation 22.6) whatever the block's size from 1024 bytes (at least 4 expected
 * per counter); the band is its mean ± 4 deviations on the Wilson–Hilferty scale: 48,828
 * blocks of /dev/urandom gave 5 outside [174, 356] (1 in 10,000; ± 3.5 deviations,
 * [183, 342], let 1 in 2,000 out, and a whole-file AES-CTR head block was among them).
 * Measured per 4096-byte block (5th percentile, median, 95th, share inside the band):
 *	AES-256-CTR output (a 8.7 MB tar)	219	255	293	100 %
 *	JPEG photos (8 real files, 0.9 MB)	359	515	9991	4.5 %
 *	PNG images (deflate, 30 files)		416	1606	52221	3.5 %
 *	ODS, ODT (deflated XML)			459	495	3730	0 %
 *	DOCX-like (deflated XML, 0.6 MB)	449	542	664	0 %
 *	PDF manuals (flate streams)		233	313	579	63 %
 *	zip of mixed office files (deflate)	230	282	622	76 %
 *	gzip -6 of a mixed tar			223	272	632	83 %
 *	zstd -3 / -19 of the same tar		224/222	266/258	1491/343 85/96 %
 *	plain CSV text				33967	34973	35984	0 %
 * So the band sets ciphertext apart from images and office documents, not from general
 * purpose compressors (gzip, zstd, a zip of compressed data) nor from a PDF's streams, whose
 * output is as flat as ciphertext at this scale: detect_file_compare relies on the share of
 * random blocks only for a file that was mostly not random. A block below the band is too
 * flat for chance (a counter, a repeated 0..255 table) and is not random either. */
#define CHI2_LO 174.0
#define CHI2_HI 356.0
/* The same over the 64 symbols of base64 (63 degrees of freedom, ± 4 deviations). */
#define CHI2_B64_LO 27.0
#define CHI2_B64_HI 119.0

/* When a change turned a file random (detect_file_compare). The share of random sampled
 * blocks, measured per file (78 files): CSV, ODS/ODT and DOCX-like 0 %; real JPEG 0–20 %
 * (5.7 % over all blocks); real PNG 0–25 % (2.2 %); PDF manuals 54–67 %; the shop
 * generator's PDFs 10–88 % and its SQLite 52 % (random filler); gzip, zstd and a zip of
 * mixed files 75–100 %. Any of them encrypted whole: 100 %. Half the 4 KiB blocks
 * encrypted (the odd ones): 33–66 % for the files under 25 % before, hence a floor of
 * 30 %. With 32 to 64 samples a share moves by about 7 points between two versions by
 * chance alone: a rise of 25 is over three times that. A file of a few blocks moves by
 * whole blocks: the share is not read under 8 (its head and magic still are). */
#define SHARE_BLOCKS_MIN 8
#define SHARE_BEFORE_MAX 25	/* percent: the file was mostly not random… */
#define SHARE_AFTER_MIN 30	/* …and at least this share of its blocks are now… */
#define SHARE_RISE_MIN 25	/* …a rise of this many points */
/* A head that turned random counts for a file under this share: over it (PDF manuals,
 * gzip, zstd), a normal rewrite can make its first block as flat as ciphertext, and the
 * magic (a format break) is what tells. */
#define HEAD_SHARE_MAX 50

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		(uint32_t)p[3] << 24;
}

/* Valid UTF-8, a sequence cut by the end of the block allowed. */
static int is_utf8(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c < 0x80)
			continue;
		size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 :
			c >= 0xf0 && c <= 0xf4 ? 4 : 0;
		if (len == 0)
			return 0;
		size_t j = 1;
		while (j < len && i + j < n && (p[i + j] & 0xc0) == 0x80)
			j++;
		if (j < len && i + j < n)
			return 0;
		i += j - 1;
	}
	return 1;
}

/* Text: no NUL, at most 1 % control bytes, and valid UTF-8 or else Latin-1 / Windows-1252
 * with at most 30 % bytes over 0x7F (French text holds a few). */
static int is_text(const uint8_t *p, size_t n)
{
	size_t ctrl = 0, high = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c == 0)
			return 0;
		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1b) ||
			c == 0x7f)
			ctrl++;
		high += c >= 0x80;
	}
	if (ctrl * 100 > n)
		return 0;
	return high * 10 <= n * 3 || is_utf8(p, n);
}

/* An OpenPGP message: the armour, or a first packet that a tool writes first when it
 * encrypts (public-key or symmetric session key) with a plausible version and algorithm,
 * so that random bytes pass about once in 100,000 files, not once in 50. */
static int is_pgp(const uint8_t *p, size_t n)
{
	static const char armour[] = "-----BEGIN PGP ";
	if (n >= sizeof armour - 1 && memcmp(p, armour, sizeof armour - 1) == 0)
		return 1;
	if (n < 16 || !(p[0] & 0x80))
		return 0;
	unsigned tag;
	size_t hdr;
	if (p[0] & 0x40) {	/* new format: one-octet, two-octet or five-octet length */
		tag = p[0] & 0x3f;
		hdr = p[1] < 192 ? 2 : p[1] < 224 ? 3 : p[1] == 255 ? 6 : 0;
	} else {		/* old format: length type in the low two bits */
		tag = (p[0] >> 2) & 0x0f;
		hdr = (size_t[]){ 2, 3, 5, 0 }[p[0] & 3];
	}
	if (hdr == 0 || n < hdr + 11)
		return 0;
	const uint8_t *b = p + hdr;
	if (tag == 1)		/* PKESK v3: version, key id, RSA/Elgamal/ECDH/X25519 */
		return b[0] == 3 && (b[9] == 1 || b[9] == 2 || b[9] == 16 || b[9] == 18 ||
			b[9] == 25);
	if (tag == 3)		/* SKESK v4/v5: version, cipher 1..13, S2K 0/1/3 */
		return (b[0] == 4 || b[0] == 5) && b[1] >= 1 && b[1] <= 13 &&
			(b[2] == 0 || b[2] == 1 || b[2] == 3);
	return 0;
}

/* The local headers of the zip entries within the first bytes: OOXML when one is named
 * "[Content_Types].xml". A writer that streams (sizes in a data descriptor after the data)
 * stops the walk; the name is then looked for in what remains. */
static int is_ooxml(const uint8_t *p, size_t n)
{
	static const char name[] = "[Content_Types].xml";
	const size_t len = sizeof name - 1;
	size_t off = 0;
	while (off + 30 <= n && le32(p + off) == 0x04034b50) {
		size_t nlen = le16(p + off + 26), xlen = le16(p + off + 28);
		if (off + 30 + nlen > n)
			return 0;
		if (nlen == len && memcmp(p + off + 30, name, len) == 0)
			return 1;
		if (le16(p + off + 6) & 0x08)
			return memmem(p + off, n - off, name, len) != NULL;
		off += 30 + nlen + xlen + (size_t)le32(p + off + 18);
	}
	return 0;
}

enum detect_magic detect_magic(const uint8_t *p, size_t n)
{
	if (n == 0)
		return DETECT_MAGIC_NONE;
	if (n >= 5 && memcmp(p, "%PDF-", 5) == 0)
		return DETECT_MAGIC_PDF;
	if (n >= 30 && le32(p) == 0x04034b50) {
		if (le16(p + 26) == 8 && n >= 38 && memcmp(p + 30, "mimetype", 8) == 0 &&
			le16(p + 8) == 0)
			return DETECT_MAGIC_ODF;
		return is_ooxml(p, n) ? DETECT_MAGIC_OOXML : DETECT_MAGIC_ZIP;
	}
	if (n >= 16 && memcmp(p, "SQLite format 3", 16) == 0)
		return DETECT_MAGIC_SQLITE;
	if (n >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
		return DETECT_MAGIC_JPEG;
	if (n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
		return DETECT_MAGIC_PNG;
	if (n >= 3 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 8)
		return DETECT_MAGIC_GZIP;
	if (n >= 4 && le32(p) == 0xfd2fb528)
		return DETECT_MAGIC_ZSTD;
	if (is_pgp(p, n))
		return DETECT_MAGIC_PGP;
	if (is_text(p, n))
		return DETECT_MAGIC_TEXT;
	return n < 16 ? DETECT_MAGIC_NONE : DETECT_MAGIC_UNKNOWN;
}

const char *detect_magic_name(enum detect_magic m)
{
	static const char *const names[] = {
		[DETECT_MAGIC_NONE] = "none", [DETECT_MAGIC_UNKNOWN] = "unknown",
		[DETECT_MAGIC_TEXT] = "text", [DETECT_MAGIC_PDF] = "PDF",
		[DETECT_MAGIC_ZIP] = "zip", [DETECT_MAGIC_ODF] = "OpenDocument",
		[DETECT_MAGIC_OOXML] = "Office Open XML", [DETECT_MAGIC_SQLITE] = "SQLite",
		[DETECT_MAGIC_JPEG] = "JPEG", [DETECT_MAGIC_PNG] = "PNG",
		[DETECT_MAGIC_GZIP] = "gzip", [DETECT_MAGIC_ZSTD] = "zstd",
		[DETECT_MAGIC_PGP] = "OpenPGP",
	};
	if ((unsigned)m >= sizeof names / sizeof names[0])
		return "?";
	return names[m];
}

/* chi2 = sum (count - e)² / e with e = n / k, computed as k·sum count² / n - n. */
static double chi2(const uint32_t *count, unsigned k, size_t n)
{
	uint64_t sq = 0;
	for (unsigned i = 0; i < k; i++)
		sq += (uint64_t)count[i] * count[i];
	return (double)k * (double)sq / (double)n - (double)n;
}

int detect_block_random(const uint8_t *p, size_t n)
{
	if (n < BLOCK_MIN || n > DETECT_BLOCK)
		return 0;
	uint32_t count[256] = { 0 };
	for (size_t i = 0; i < n; i++)
		count[p[i]]++;
	double x = chi2(count, 256, n);
	return x >= CHI2_LO && x <= CHI2_HI;
}

int detect_block_random_text(const uint8_t *p, size_t n)
{
	if (n < BLOCK_MIN || n > DETECT_BLOCK)
		return 0;
	uint32_t count[64] = { 0 };
	size_t sym = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 :
			c >= '0' && c <= '9' ? c - '0' + 52 : c == '+' || c == '-' ? 62 :
			c == '/' || c == '_' ? 63 : -1;
		if (v >= 0) {
			count[v]++;
			sym++;
		} else if (c != '\n' && c != '\r' && c != '=') {
			return 0;
		}
	}
	if (sym < BLOCK_MIN)
		return 0;
	double x = chi2(count, 64, sym);
	return x >= CHI2_B64_LO && x <= CHI2_B64_HI;
}

void detect_profile_init(struct detect_profile *p)
{
	memset(p, 0, sizeof *p);
}

/* A fixed draw from (k, shift) (splitmix64's finaliser): the place of the block sampled in
 * step k of the grid of 2^shift blocks from its low bits, and which of the two samples of
 * steps 2k and 2k + 1 step k keeps when the step doubles from its top bit. */
static uint64_t draw(uint64_t k, unsigned shift)
{
	uint64_t z = k * 0x9e3779b97f4a7c15u ^ (uint64_t)shift << 56;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static uint64_t grid_block(uint64_t k, unsigned shift)
{
	uint64_t step = UINT64_C(1) << shift;
	return k * step + (draw(k, shift) & (step - 1));
}

/* One sampled block of ${n} bytes in p->buf, in step p->blocks of the grid. Each sample lies
 * anywhere in its step with the same chance (block 0 aside, always kept): drawn so, or
 * kept by a coin from two that lie anywhere in the two halves. Once 64 are held, the next block to sample is already that
 * of step 32 of the grid of twice the step, and taking it halves the samples. */
static void sample(struct detect_profile *p, size_t n)
{
	int r = detect_block_random(p->buf, n) || detect_block_random_text(p->buf, n);
	if (p->blocks == 0)
		p->head_random = (uint8_t)r;
	if (p->blocks == SAMPLES_MAX) {
		uint64_t kept = 0;
		p->shift++;
		for (unsigned j = 0; j < SAMPLES_MAX / 2; j++) {
			unsigned c = j ? (unsigned)(draw(j, p->shift) >> 63) : 0;	/* block 0 stays */
			kept |= ((p->bits >> (2 * j + c)) & 1) << j;
		}
		p->bits = kept;
		p->blocks = SAMPLES_MAX / 2;
	}
	if (r)
		p->bits |= UINT64_C(1) << p->blocks;
	p->blocks++;
	p->random = (uint32_t)__builtin_popcountll(p->bits);
	p->next = DETECT_BLOCK * (p->blocks == SAMPLES_MAX ?
		grid_block(SAMPLES_MAX / 2, p->shift + 1u) : grid_block(p->blocks, p->shift));
}

void detect_profile_feed(struct detect_profile *p, const uint8_t *data, size_t n)
{
	uint64_t pos = p->size;
	while (n > 0) {
		if (pos < p->next) {
			uint64_t skip = p->next - pos < n ? p->next - pos : n;
			pos += skip;
			data += skip;
			n -= (size_t)skip;
			continue;
		}
		/* Within the block being sampled: p->fill == pos - p->next. */
		size_t take = DETECT_BLOCK - p->fill < n ? DETECT_BLOCK - p->fill : n;
		memcpy(p->buf + p->fill, data, take);
		p->fill += (uint32_t)take;
		pos += take;
		data += take;
		n -= take;
		if (p->fill == DETECT_BLOCK) {
			if (p->blocks == 0 && p->next == 0)
				p->magic = (uint8_t)detect_magic(p->buf, DETECT_BLOCK);
			sample(p, DETECT_BLOCK);
			p->fill = 0;
		}
	}
	p->size = pos;
}

void detect_profile_end(struct detect_profile *p)
{
	if (p->size < DETECT_BLOCK)
		p->magic = (uint8_t)detect_magic(p->buf, p->fill);
	if (p->fill >= BLOCK_MIN)
		sample(p, p->fill);
	p->fill = 0;
}

/* The formats a break is measured from: what shop files are, and what a user makes. */
static int known(unsigned m)
{
	return m >= DETECT_MAGIC_TEXT && m <= DETECT_MAGIC_ZSTD;
}

/* ZIP, ODF and OOXML are one container: a save may reorder the entries. */
static int zip_family(unsigned m)
{
	return m == DETECT_MAGIC_ZIP || m == DETECT_MAGIC_ODF || m == DETECT_MAGIC_OOXML;
}

unsigned detect_file_compare(const struct detect_profile *before,
	const struct detect_profile *after)
{
	unsigned flags = 0;
	unsigned mb = before->magic, ma = after->magic;
	if (known(mb) && ma != mb && ma != DETECT_MAGIC_PGP && !(zip_family(mb) && zip_family(ma)))
		flags |= DETECT_FILE_FORMAT_BREAK;
	if (before->blocks == 0 || after->blocks == 0)
		return flags;
	/* Shares in percent, compared in integers: r / b < x % as 100 r < x b. */
	uint64_t rb = 100 * (uint64_t)before->random, bb = before->blocks;
	uint64_t ra = 100 * (uint64_t)after->random, ba = after->blocks;
	if (!before->head_random && after->head_random && rb < HEAD_SHARE_MAX * bb)
		flags |= DETECT_FILE_TURNED_RANDOM;
	/* ra / ba - rb / bb >= rise, as ra·bb - rb·ba >= rise·ba·bb */
	if (bb >= SHARE_BLOCKS_MIN && ba >= SHARE_BLOCKS_MIN &&
		rb < SHARE_BEFORE_MAX * bb && ra >= SHARE_AFTER_MIN * ba &&
		ra * bb >= rb * ba + SHARE_RISE_MIN * ba * bb)
		flags |= DETECT_FILE_TURNED_RANDOM;
	return flags;
}
