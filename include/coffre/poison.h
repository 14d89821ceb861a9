/* poison.h: files the backup is to leave out because reading them killed the run's process
 * twice in a row (a file that crashes a library, one on a dead network mount that hangs the
 * read). The daemon notes the file being read when a run's process dies or hangs; at the
 * second run in a row dying on the same file, that file is skipped by the next runs, with a
 * warning, until it changes (its mtime, or it is gone). Kept in STATE_DIR/poison.json, so
 * that a restart remembers.
 *
 * Threads: a struct poison belongs to one thread. The file read back is untrusted: bounded
 * (POISON_FILE_MAX, POISON_MAX entries), what is not understood is dropped, not obeyed. */
#ifndef COFFRE_POISON_H
#define COFFRE_POISON_H

#include <stddef.h>

struct cf_error;
struct poison;

#define POISON_MAX 64			/* files skipped at most */
#define POISON_FILE_MAX (1u << 20)	/* bytes of poison.json read at most */
#define POISON_PATH_MAX 4096

/* poison_load(state_dir, ret, err): the record of ${state_dir} (empty when there is none, or
 * when it cannot be understood: it is then replaced at the next save). Returns 0, CF_EIO
 * (cannot be read) or CF_ENOMEM. */
int poison_load(const char *state_dir, struct poison **ret, struct cf_error *err);
void poison_free(struct poison *p);

/* poison_save(p, state_dir, err): write the record atomically. 0 or CF_E*. */
int poison_save(struct poison *p, const char *state_dir, struct cf_error *err);

/* poison_crashed(p, path): a run's process died (or hung) while reading ${path} (absolute).
 * Returns 1 when ${path} is skipped from now on (the second run in a row), else 0; -1 when
 * out of memory. */
int poison_crashed(struct poison *p, const char *path);

/* poison_run_ended(p): a run ended without its process dying: a file suspected once is
 * forgotten (runs in a row only count). */
void poison_run_ended(struct poison *p);

/* poison_refresh(p, dropped, ctx): stop skipping the files that changed since they were
 * recorded (another mtime, another file, or gone), calling ${dropped} for each. */
void poison_refresh(struct poison *p, void (*dropped)(void *ctx, const char *path), void *ctx);

/* poison_count(p), poison_path(p, i): the files skipped (borrowed, valid until the next
 * change of ${p}). */
size_t poison_count(const struct poison *p);
const char *poison_path(const struct poison *p, size_t i);

/* poison_changed(p): ${p} differs from what was last loaded or saved. */
int poison_changed(const struct poison *p);

#endif
