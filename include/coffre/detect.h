/* detect.h: ransomware signals, each cheap and computed from what coffre already sees (a
 * changed file's bytes as the backup reads them, its previous version's, and the watcher's
 * events), and the decision that turns signals into an alarm.
 *
 * Contract. Pure functions over memory: no I/O, no allocation but where a function says so,
 * nothing global. Inputs are untrusted bytes (a file's content, a file name): bounded and
 * checked. Times are seconds since the epoch, given by the caller (tests drive them). */
#ifndef COFFRE_DETECT_H
#define COFFRE_DETECT_H

#include <stddef.h>
#include <stdint.h>

/* ---- what a file's bytes look like ---- */

/* The format its first bytes say (its magic). A text file is one whose first block is valid
 * UTF-8 (or Latin-1 text) with no NUL and few control bytes; CSV counts as text. */
enum detect_magic {
	DETECT_MAGIC_NONE = 0,	/* empty, or too short to tell */
	DETECT_MAGIC_UNKNOWN,	/* binary without a known signature */
	DETECT_MAGIC_TEXT,
	DETECT_MAGIC_PDF,	/* "%PDF-" */
	DETECT_MAGIC_ZIP,	/* "PK\3\4", no mimetype entry first */
	DETECT_MAGIC_ODF,	/* "PK\3\4" with a stored "mimetype" entry: ODS, ODT */
	DETECT_MAGIC_OOXML,	/* "PK\3\4" with "[Content_Types].xml": DOCX, XLSX */
	DETECT_MAGIC_SQLITE,	/* "SQLite format 3\0" */
	DETECT_MAGIC_JPEG,	/* FF D8 FF */
	DETECT_MAGIC_PNG,	/* 89 "PNG" 0D 0A 1A 0A */
	DETECT_MAGIC_GZIP,	/* 1F 8B */
	DETECT_MAGIC_ZSTD,	/* 28 B5 2F FD */
	DETECT_MAGIC_PGP,	/* OpenPGP packet or "-----BEGIN PGP" armour: encrypted on purpose */
};

/* detect_magic(p, n): the format of a file whose first ${n} bytes are ${p}. */
enum detect_magic detect_magic(const uint8_t *p, size_t n);
/* detect_magic_name(m): a short English name ("PDF", "SQLite"…), for messages. */
const char *detect_magic_name(enum detect_magic m);

#define DETECT_BLOCK 4096

/* detect_block_random(p, n): 1 when the ${n} bytes (at most DETECT_BLOCK; at least 1024 to
 * count) look like ciphertext: their chi-square over 256 byte counters falls in the band
 * uniform random bytes give. JPEG, PNG and office documents' deflated XML are close to
 * random but fail this test far more often than ciphertext does, which Shannon entropy
 * cannot tell apart. General compressors' output (gzip, zstd, a zip of mixed files) and a
 * PDF's streams pass it for most blocks (measured in detect_file.c): for them only the
 * magic and detect_file_compare's rules tell. */
int detect_block_random(const uint8_t *p, size_t n);
/* detect_block_random_text(p, n): 1 when the ${n} bytes (same bounds) are base64 text (line
 * breaks and padding aside) whose 64 symbols are as evenly spread as random bytes encoded
 * in base64 give: ciphertext written as text. A profile counts a block as random when
 * either test says so. */
int detect_block_random_text(const uint8_t *p, size_t n);

/* A file's profile: its magic and, over sampled blocks, how many look random. Built by
 * feeding its bytes in order, as the backup reads them (any piece sizes). */
struct detect_profile {
	uint8_t magic;		/* enum detect_magic */
	uint8_t head_random;	/* its first block looks random */
	uint32_t blocks;	/* blocks sampled */
	uint32_t random;	/* of which random */
	uint64_t size;		/* bytes fed */
	/* the sampler's state: */
	uint8_t buf[DETECT_BLOCK];
	uint32_t fill;
	uint64_t next;		/* offset of the next block to sample */
	uint64_t bits;		/* bit i: the i-th kept sample was random (thinned on the way) */
	uint8_t shift;		/* the grid's step: 2^shift blocks */
};

/* detect_profile_init(p): empty. */
void detect_profile_init(struct detect_profile *p);
/* detect_profile_feed(p, data, n): the next ${n} bytes. Samples the first block, then blocks
 * spread so that a file of any size costs at most 64 blocks, whatever its size: one block in
 * each step of a grid whose step starts at one block and doubles, dropping every other kept
 * sample, each time 64 samples are held (so 32 to 64 blocks spread over the whole file,
 * block 0 always among them). Within a step the block is drawn from the step's number, not
 * from the content: the same places for two versions of a file of about the same size, and
 * no periodic pattern of partial encryption falls between the samples (the kept one of two
 * drawn by a coin likewise). */
void detect_profile_feed(struct detect_profile *p, const uint8_t *data, size_t n);
/* detect_profile_end(p): the last, partial block counts when it is at least 1024 bytes. */
void detect_profile_end(struct detect_profile *p);

/* What a changed file did, comparing its previous version's profile with its new one. */
#define DETECT_FILE_FORMAT_BREAK 0x01	/* had a known magic, has another or none now */
#define DETECT_FILE_TURNED_RANDOM 0x02	/* share of random blocks jumped, or head turned random */
#define DETECT_FILE_RANSOM_NOTE 0x04	/* (detect_note_*: set by callers) */

/* detect_file_compare(before, after): DETECT_FILE_* flags. A file that became PGP
 * (someone encrypted it on purpose, one at a time) is not a format break by itself; text that
 * stayed text is not one either. */
unsigned detect_file_compare(const struct detect_profile *before,
	const struct detect_profile *after);

/* detect_head_check(ext, p, n): DETECT_FILE_* flags for a file just written whose lower-case
 * extension is ${ext} (detect_ext) and whose first ${n} bytes are ${p}, judged without its
 * previous version: a format break when the extension promises a format (pdf, the zip
 * family, sqlite, jpg, png, gz, zst, or text: csv, txt...) the bytes no longer have; turned
 * random when the first block looks like ciphertext (raw or base64) where the promise broke
 * or text was promised. Extensions that promise nothing, short files and OpenPGP give 0. */
unsigned detect_head_check(const char *ext, const uint8_t *p, size_t n);

/* ---- names and notes ---- */

/* detect_note_name(name): 1 when a file name (no directory) is a known ransom-note name
 * ("README_FOR_DECRYPT.txt", "HOW_TO_DECRYPT…", "!!!_READ_ME_!!!.txt", "_readme.txt"…) or
 * matches one of the ${nextra} extra glob patterns (fnmatch, case-insensitive) from the
 * config. */
int detect_note_name(const char *name, const char *const *extra, size_t nextra);
/* detect_note_text(p, n): 1 when the text reads as a ransom note: a ".onion" address, or at
 * least two of the built-in phrases (bitcoin, "your files have been encrypted", "decrypt",
 * "private key", "tor browser", French ones too), case-insensitive. */
int detect_note_text(const uint8_t *p, size_t n);
/* detect_ext(name, buf, cap): the lower-case extension of ${name} without the dot ("" when
 * none, or longer than ${cap} - 1 or than 16 characters). */
void detect_ext(const char *name, char *buf, size_t cap);

/* ---- canaries ---- */

enum detect_canary_kind { DETECT_CANARY_CSV, DETECT_CANARY_PDF, DETECT_CANARY_ODS };

/* detect_canary_name(kind): the file name, made to sort first in a folder listing
 * ("!coffre-canary-do-not-touch.csv"…). */
const char *detect_canary_name(enum detect_canary_kind kind);
/* detect_canary_make(kind, seed, ret, ret_n): the canary's bytes, a valid file of that kind
 * (CSV text, a one-page PDF, an ODS zip whose first entry is the stored mimetype), holding
 * a French and an English line asking not to touch it; ${seed} (16 bytes) makes each shop's
 * canaries differ. The bytes are malloc'ed (the caller frees). 0, or -1 out of memory. */
int detect_canary_make(enum detect_canary_kind kind, const uint8_t seed[16], uint8_t **ret,
	size_t *ret_n);

/* ---- the decision ---- */

/* The kinds of signal, independent of each other: an alarm needs a canary, a mass rewrite,
 * or two kinds over their thresholds within the window. */
enum detect_kind {
	DETECT_CANARY = 0,	/* a canary was written, renamed or deleted: an alarm alone */
	DETECT_FORMAT,		/* changed files whose format broke */
	DETECT_RANDOM,		/* changed files that turned random */
	DETECT_RENAME,		/* renames to an extension never seen in the tree */
	DETECT_NOTE,		/* ransom-note names or contents */
	DETECT_DELETE,		/* deletions of files that existed for long */
	DETECT_RATE,		/* existing files changed per minute far above the usual rate */
	DETECT_OVERFLOW,	/* the watcher's queue overflowed (flooding hides an attack) */
	DETECT_MASS,		/* existing files rewritten in one minute by the hundreds, far
				 * above the usual rate: an alarm alone (intermittent encryption
				 * that keeps each file's head and changes too little of it to
				 * tell from its content) */
	DETECT_NKINDS
};

/* detect_kind_name(k): "canary", "format", "random"… (stable: in status.json and the log). */
const char *detect_kind_name(enum detect_kind k);

struct detect_policy {
	int64_t window;			/* seconds (default 600) */
	uint32_t threshold[DETECT_NKINDS];	/* events within the window to count the kind */
	double rate_factor;		/* DETECT_RATE: changes per minute above factor × usual */
	uint32_t rate_floor;		/* … and above this many per minute, whatever the usual */
	double mass_factor;		/* DETECT_MASS: changes per minute above factor × usual… */
	uint32_t mass_floor;		/* … and above this many per minute */
};

/* detect_policy_default(p): the defaults (documented in coffre.conf(5)). */
void detect_policy_default(struct detect_policy *p);

struct detect;

/* detect_new(policy, ret): a decision state; NULL policy: the defaults. 0 or -1. */
int detect_new(const struct detect_policy *policy, struct detect **ret);
void detect_free(struct detect *d);
/* detect_event(d, kind, now, n): ${n} events of ${kind} at ${now}. Returns 1 when the alarm
 * is (now) raised: a canary or a mass rewrite, or two kinds over their thresholds within
 * the window. The first
 * event of any kind that counted is remembered (detect_first). */
int detect_event(struct detect *d, enum detect_kind kind, int64_t now, uint32_t n);
/* detect_changed(d, now, n): ${n} existing files changed at ${now}: feeds the learnt usual
 * rate (an exponential average per minute) and raises DETECT_RATE when far above it, and
 * DETECT_MASS when farther still. Same
 * return as detect_event. */
int detect_changed(struct detect *d, int64_t now, uint32_t n);
/* detect_fired(d): bit k set when kind k is over its threshold in the window now. */
unsigned detect_fired(const struct detect *d, int64_t now);
/* detect_first(d): the time of the first event that counted toward the alarm, or 0. */
int64_t detect_first(const struct detect *d);
/* detect_usual(d) / detect_set_usual(d, per_min): the learnt usual rate, to keep across
 * restarts. */
double detect_usual(const struct detect *d);
void detect_set_usual(struct detect *d, double per_min);

#endif
