/* restore_internal.h: what the restore files share: the state of one restore or export
 * (restore_write.c writes entries through libarchive, to disk or into an archive; restore.c
 * and dump.c drive it; restore_verify.c reads a restored tree back). One thread uses a
 * struct restore_ctx. */
#ifndef COFFRE_RESTORE_INTERNAL_H
#define COFFRE_RESTORE_INTERNAL_H

#include <stdint.h>

#include "base/util.h"
#include "coffre/restore.h"

struct archive;
struct blob_reader;
struct blobidx;
struct cf_error;
struct repo;


/* Hard-link groups: (dev, ino) of entries with nlink > 1 -> first restored path. */
struct link {
	uint64_t dev, ino;
	char *path;
	struct link *next;
};
#define LINK_BUCKETS 4096

struct restore_ctx {
	struct repo *r;
	const struct restore_opts *o;
	struct blob_reader *br;
	struct archive *a;		/* disk writer or archive writer */
	int dump;			/* writing an archive, not the disk */
	int zip;			/* the archive is a zip: names must be UTF-8 */
	struct restore_stats st;
	struct link *links[LINK_BUCKETS];
	struct buf blob;		/* dump of one file */
	/* The file being written: its header is out, its data is coming from the feed. */
	struct {
		int open;		/* data and a RESTORE_FEED_FILE_END follow */
		int write;		/* header written: the data goes to the file */
		int hardlink;
		struct link **ls;	/* hard-link slot to fill once the file is complete */
		uint64_t dev, ino;
		uint64_t off;
	} f;
	char *path;			/* the entry being restored (st.current) */
	const char *aname;		/* its name as the disk writer was given it */
	/* disk: the target, and the directory the writer works in when it is not the target */
	int rootfd, dirfd;
	char *dir;			/* the snapshot path of dirfd */
	char *skipdir;			/* a refused directory: nothing under it is written */
	char **collided;		/* entries not written for a name collision (their
					 * snapshot paths): the verify pass leaves them out */
	size_t ncollided;
	uint64_t t0, last;
	int fatal;
	struct cf_error *err;
	const char *prefix;		/* dump: the subtree being exported */
	/* verify pass */
	int vfd;
	uint64_t voff;
	int vbad;
	uint8_t *vbuf;
};

/* restore_problem(S, path, msg): tell the caller about a refused or damaged entry. */
void restore_problem(struct restore_ctx *S, const char *path, const char *msg);
/* restore_collided(S, path): 1 when ${path} is, or lies under, an entry left out for a name
 * collision. restore_collided_free(S) frees their list. */
int restore_collided(const struct restore_ctx *S, const char *path);
void restore_collided_free(struct restore_ctx *S);
/* restore_under(p, dir): 1 when ${p} is ${dir} or inside it ("/" holds everything). */
int restore_under(const char *p, const char *dir);
/* restore_selected(o, path): 0 restore, 1 only on the way to an include (dirs), -1 skip. */
int restore_selected(const struct restore_opts *o, const char *path);
/* restore_rel_path(S, path): the path an entry takes inside the target or the archive. */
const char *restore_rel_path(struct restore_ctx *S, const char *path);
/* restore_work_in_root(S): make the target the working directory again; 0 or CF_EIO. */
int restore_work_in_root(struct restore_ctx *S);
/* restore_open_reader(S, x, err): open the blob index ${*x} and S->br on it; 0 or CF_E*. */
int restore_open_reader(struct restore_ctx *S, struct blobidx **x, struct cf_error *err);
/* restore_write_all(S, root): write every selected entry under ${root} through S->a, in
 * order; 0, or the CF_E* of a failure that stops the run (refused and damaged entries are
 * counted in S->st and named through restore_problem, and do not stop it). */
int restore_write_all(struct restore_ctx *S, const uint8_t root[32]);
/* restore_links_free(S): forget the hard-link groups. */
void restore_links_free(struct restore_ctx *S);
/* restore_verify(S, root, err): read each restored file back from the target (the working
 * directory) and compare its chunks with their ids; counts S->st.verified / verify_failed.
 * 0 or CF_E* when the tree cannot be walked. */
int restore_verify(struct restore_ctx *S, const uint8_t root[32], struct cf_error *err);

#endif
