/* setup.h: what coffre setup finds on the machine (folders worth protecting, USB drives) and
 * the files it writes (the configuration, the password file). The command itself, its
 * questions and its first backup are in cmd_setup.c. */
#ifndef COFFRE_SETUP_H
#define COFFRE_SETUP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "coffre/backup.h"

/* Why a folder is proposed (shown beside it). */
enum setup_why { SETUP_DOCUMENTS, SETUP_DESKTOP, SETUP_SAMBA, SETUP_DOLIBARR, SETUP_GIVEN };

struct setup_folder {
	char *path;		/* absolute, canonical */
	char *owner;		/* the user, the share name, or NULL */
	enum setup_why why;
	uint64_t bytes;		/* sum of the regular files' sizes */
	uint64_t files;
	int ticked;
};

struct setup_folders {
	struct setup_folder *v;
	size_t n;
};

/* Where to look: every fixed place (/home, /root, /etc/dolibarr, /var/www, /usr/share/dolibarr,
 * /etc/samba/smb.conf) is taken under ${root} ("" for the real system); ${smb_conf}, when
 * not NULL, replaces the Samba configuration file. */
struct setup_where {
	const char *root;
	const char *smb_conf;
};

/* setup_find_folders(w, l): add to ${l} the users' Documents and Desktop (Bureau) folders, the
 * Samba shares' paths and Dolibarr's documents folder that exist, each ticked, with its
 * size; a folder inside one already listed (or the same one) is not added twice. Returns 0 or
 * -1 (out of memory). */
int setup_find_folders(const struct setup_where *w, struct setup_folders *l);
/* setup_samba_paths(text, fn, ctx): call ${fn}(ctx, share, path) for each share's absolute
 * path in the smb.conf ${text} (which is modified), leaving out [global], [homes],
 * [printers], [print$] and paths holding '%'. Stops at the first non-zero return of ${fn}
 * and returns it; 0 when done; -1 when the text cannot be read. */
int setup_samba_paths(char *text, int (*fn)(void *ctx, const char *share, const char *path),
	void *ctx);
/* Where Dolibarr's conf.php may be (glob patterns under the root), NULL-terminated. */
extern const char *const setup_dolibarr_confs[];
/* setup_read_text(path): the text of ${path} (a regular file, its last component no symlink,
 * at most 1 MiB), NUL-terminated, malloc'd; NULL when missing, unreadable or too large. */
char *setup_read_text(const char *path);
/* setup_dolibarr_root(text): the first well-formed value of $dolibarr_main_data_root
 * (quoted, on one line, shorter than PATH_MAX) in the conf.php ${text}, malloc'd, or NULL. */
char *setup_dolibarr_root(const char *text);
/* setup_folders_add(l, path, why, owner): add ${path} if it is a folder not yet covered;
 * 1 when added, 0 when not (missing, not a folder, already covered, a name the
 * configuration cannot hold), -1 when out of memory. */
int setup_folders_add(struct setup_folders *l, const char *path, enum setup_why why,
	const char *owner);
void setup_folders_release(struct setup_folders *l);
/* setup_path_ok(path): whether ${path} can be written as a configuration value (absolute, no
 * control character, no comment mark, no surrounding space). */
int setup_path_ok(const char *path);

/* Dolibarr's database as its conf.php names it (setup_dolibarr.c): each value as PHP
 * reads it, "" when not set. */
#define SETUP_DB_VALUE_MAX 256
struct setup_dolibarr {
	char type[SETUP_DB_VALUE_MAX];	/* mysqli, mysql or pgsql */
	char host[SETUP_DB_VALUE_MAX];
	char port[SETUP_DB_VALUE_MAX];
	char name[SETUP_DB_VALUE_MAX];
	char user[SETUP_DB_VALUE_MAX];
	char pass[SETUP_DB_VALUE_MAX];
};
/* setup_dolibarr_db(text, ret): the database of the conf.php ${text}: only assignments of
 * one plain quoted literal on a line of their own count (the last one of each key), nothing
 * PHP would compute. 0 and ${ret} filled when it names a MariaDB/MySQL or PostgreSQL
 * database; -1 otherwise (${ret} untouched). */
int setup_dolibarr_db(const char *text, struct setup_dolibarr *ret);

/* A database server setup proposes to dump into each snapshot (setup_db.c). */
struct setup_db {
	char *name;		/* the [database NAME] section: dolibarr, dolibarr-2... */
	int kind;		/* enum dbdump_kind */
	char *socket;		/* or host and port; neither: the client's default */
	char *host;
	int port;
	char *user;		/* NULL: the client's default */
	char *password;		/* NULL: none; written to a 0600 file, never to the config */
	char *database;		/* NULL: every database of the server (a local MariaDB) */
	char *list;		/* then those it has now, for the eye: "shop, erp" */
	char *from;		/* the conf.php it comes from; NULL for a local server */
	uint64_t bytes;		/* its dump's size (at least, when ${more}) */
	int more;
	char *problem;		/* why it cannot be dumped now (then unticked); NULL: fine */
	char *password_file;	/* set by the command before the configuration is written */
	int ticked;
};

struct setup_dbs {
	struct setup_db *v;
	size_t n;
};

/* setup_find_dbs(w, l): the databases of the Dolibarr installations under ${w}'s root
 * (conf.php in /etc/dolibarr, /var/www/{*}/htdocs/conf, /var/www/html/dolibarr/htdocs/conf,
 * /usr/share/dolibarr/htdocs/conf), each tried with a dump (its size measured, at most
 * about 10 s) and ticked when it works. Host "localhost" means the server's usual socket
 * under the root. Without any Dolibarr on it, a MariaDB server on its usual socket that
 * lists its databases to us without a password (unix-socket authentication, as root):
 * all its databases, ticked. Returns 0 or -1 (out of memory). */
int setup_find_dbs(const struct setup_where *w, struct setup_dbs *l);
void setup_dbs_release(struct setup_dbs *l);
/* setup_dbs_write(l, pwfile, journal): name the ticked databases (dolibarr, dolibarr-2...)
 * and write each one's password to database-NAME.password (0600) in ${pwfile}'s folder,
 * recorded first in ${journal}: the configuration names the file, never the password.
 * Prints what went wrong; returns 0 or an exit code. */
int setup_dbs_write(struct setup_dbs *l, const char *pwfile, const char *journal);

/* A drive that may receive the backups. */
struct setup_drive {
	char *url;		/* usb:LABEL, usb:UUID=..., or a folder (local) */
	char *name;		/* what the shopkeeper knows it by: label, model, folder */
	char *dev;		/* /dev/sdb1, or NULL for a folder */
	uint64_t size;		/* bytes, 0 when unknown */
};

struct setup_drives {
	struct setup_drive *v;
	size_t n;
};

/* setup_find_drives(l): the removable (or USB) block devices holding a filesystem, found
 * with libblkid. Returns 0 or -1 (out of memory). */
int setup_find_drives(struct setup_drives *l);
/* setup_drive_from_path(path, ret): ${path} given by hand: a block device (found by its
 * label or UUID), the mount point of one, or any other folder (a local destination in
 * PATH/coffre). Returns 0, or -1 with errno set. */
int setup_drive_from_path(const char *path, struct setup_drive *ret);
void setup_drive_release(struct setup_drive *d);
void setup_drives_release(struct setup_drives *l);

/* setup_write_file(path, text, mode, group): ${text} into ${path} through a temp file, fsync,
 * rename and a directory fsync, with ${mode} and, when ${group} exists and we are root, owned
 * by root and that group. Returns 0 or -1 with errno set. */
int setup_write_file(const char *path, const char *text, unsigned mode, const char *group);

/* What the configuration file says. */
struct setup_conf {
	const char *const *paths;
	size_t npaths;
	const char *spool;		/* the local repository */
	const char *password_file;
	const char *drive_url;		/* NULL: no destination */
	const char *drive_name;		/* shown in a comment */
	const char *state_dir;		/* NULL: the default */
	const char *socket;		/* NULL: the default */
	const struct setup_db *dbs;	/* the ticked ones become [database NAME] sections */
	size_t ndbs;
};

/* setup_conf_text(c): the configuration file's text (malloc'd), NULL when out of memory. */
char *setup_conf_text(const struct setup_conf *c);
/* setup_conf_dest(text, name, url, what): ${text} with a [destination ${name}] section for
 * ${url} added (malloc'd), NULL when out of memory. */
char *setup_conf_dest(const char *text, const char *name, const char *url, const char *what);

struct cfg;
struct repo;
/* What the first backup made. */
struct setup_result {
	time_t start, when;		/* when it began, when it was committed */
	char snapshot[65];		/* its id, hex */
	struct backup_stats stats;
	int partial;			/* some files or databases were left out */
};
/* setup_first_backup(c, r, ret): a backup of what ${c} protects (folders, databases) into
 * ${r}, its progress shown; what it made in ${ret}. Prints what went wrong; returns 0 or an
 * exit code. */
int setup_first_backup(struct repo *r, const struct cfg *c, struct setup_result *ret);
/* setup_record_run(c, res, pushed): record ${res} in ${c}'s state folder as coffred records
 * its runs (status.json), with its copy on ${c}'s only destination when ${pushed}: coffred
 * starts from it and coffre status shows it. Warns and returns -1 when it cannot. */
int setup_record_run(const struct cfg *c, const struct setup_result *res, int pushed);
/* setup_push(r, url): send what ${r} holds to ${url}, read back (progress shown). Prints what
 * went wrong; returns 0 or an exit code. */
int setup_push(struct repo *r, const char *url);
/* setup_group(name): create the system group ${name} when missing (groupadd --system), as
 * root only. Returns 0 (created or there), 1 (skipped: not root), -1 (groupadd failed). */
int setup_group(const char *name);
/* setup_start_daemon(config, start): enable and start coffred with systemd when it runs the
 * machine (and ${config} is the default file), or else when ${start} run "coffred --config
 * ${config}" in the background (COFFRED names the program); says what it did or how coffred
 * will start. Returns 0, or an exit code when starting failed. */
int setup_start_daemon(const char *config, int start);
/* setup_reload_daemon(socket): if coffred answers on ${socket}, send it SIGHUP so that it
 * reads the configuration again; 1 when done, 0 when no coffred runs. */
int setup_reload_daemon(const char *socket);

/* The journal of a setup under way (setup_journal.c): what it created, one "KIND PATH" line
 * each ('f' a file, 'd' the repository's folder), so that a setup that stopped half-way can
 * be run again. setup_journal_path(config): its file beside ${config} (malloc'd). */
char *setup_journal_path(const char *config);
int setup_journal_exists(const char *journal);
/* setup_journal_add(journal, kind, path): record ${path} before creating it. 0 or -1 with
 * errno set. */
int setup_journal_add(const char *journal, char kind, const char *path);
/* setup_journal_undo(journal, ret_failed): remove what ${journal} lists (a folder only when
 * it is empty or holds a repository), then the journal. 0, or -1 with the path that could
 * not be removed in ${ret_failed} (malloc'd) and errno set. */
int setup_journal_undo(const char *journal, char **ret_failed);
/* setup_journal_done(journal): the setup is finished: forget the journal. 0 or -1. */
int setup_journal_done(const char *journal);

#endif
