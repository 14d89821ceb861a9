/* fixture.h: what the unit tests share: a temporary folder under $TMPDIR, a template
 * repository made once per test binary and copied for each test, and rm -rf. */
#ifndef COFFRE_TESTS_FIXTURE_H
#define COFFRE_TESTS_FIXTURE_H

#include <stddef.h>

#include "coffre/repo.h"	/* REPO_RECOVERY_TEXT */

/* The template repository's password. */
#define FX_PASSWORD "pw"

/**
 * fx_mkdtemp(buf, size, name): make a new folder "${TMPDIR}/cf-test-${name}-XXXXXX" (/tmp when
 * TMPDIR is unset or empty) and write its path into ${buf}. Return 0, or -1 if the path does
 * not fit or the folder cannot be made.
 */
int fx_mkdtemp(char *buf, size_t size, const char *name);

/**
 * fx_rm_rf(path): remove ${path} and everything under it, not following symlinks. Errors
 * (a missing path included) are ignored.
 */
void fx_rm_rf(const char *path);

/**
 * fx_write(path, fmt, ...): write the formatted text to ${path} (created or emptied). Any
 * failure fails the running test.
 */
void fx_write(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * fx_copy_tree(from, to): copy the files and folders under ${from} to ${to}, which must not
 * exist (folders mode 0700, files 0600). Any failure fails the running test.
 */
void fx_copy_tree(const char *from, const char *to);

/**
 * fx_template_init(name): make the template repository (repo_init with FX_PASSWORD) in a
 * folder of its own; for a group setup, since a repo_init costs a key derivation. Return 0,
 * or -1.
 */
int fx_template_init(const char *name);

/** fx_template_free(): remove the template repository; for a group teardown. */
void fx_template_free(void);

/**
 * fx_template_copy(to): put a copy of the template repository at ${to} (which must not
 * exist): same keys, same id, same recovery key. Any failure fails the running test.
 */
void fx_template_copy(const char *to);

/** fx_template_recovery(): the template's recovery key text (borrowed). */
const char *fx_template_recovery(void);

/** fx_template_idhex(): the template's repository id, 64 hex digits (borrowed). */
const char *fx_template_idhex(void);

#endif
