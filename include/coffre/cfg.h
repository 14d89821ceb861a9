/* cfg.h: the daemon's configuration file (INI, parsed with inih): folders to protect, their
 * excludes, the repository, the schedule, the retention, the control socket and state. */
#ifndef COFFRE_CFG_H
#define COFFRE_CFG_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/dst.h"
#include "coffre/forget.h"
#include "coffre/sched.h"

struct cf_error;

#define CFG_DEFAULT_PATH "/etc/coffre/coffre.conf"
#define CFG_DEFAULT_SOCKET "/run/coffre/coffred.sock"
#define CFG_DEFAULT_STATE_DIR "/var/lib/coffre"
#define CFG_DEFAULT_SOCKET_GROUP "coffre"
#define CFG_DEFAULT_RUN_TIMEOUT (30 * 60)

/* A [destination NAME] section: where coffred pushes the spool after each backup. */
struct cfg_dest {
	char *name;
	char *url;
	char *s3_keys_file, *s3_region, *s3_lock_mode, *sftp_key_file, *sftp_host_key;
	int s3_lock_days;
	uint64_t upload_limit;	/* bytes per second, 0: none */
	/* Its retention: the [backup] policy, with the keep-* keys of its own section over it
	 * (a USB drive may keep more generations than the spool). */
	struct forget_policy keep;
	unsigned keep_set;	/* which keep-* keys the section set (bits of cfg.c) */
};

/* A loaded configuration (a value record: read its fields, release with cfg_free). */
struct cfg {
	char *file;
	char **paths;		/* [backup] path = ... (several) */
	size_t npaths;
	char **excludes;	/* the defaults, then [backup] exclude = ... */
	size_t nexcludes;
	char *repository;
	char *password_file;
	struct sched_spec schedule;
	struct forget_policy keep;	/* [backup] keep-last ... keep-yearly, keep-within */
	struct cfg_dest *dests;	/* [destination NAME] sections, in file order */
	size_t ndests;
	int clear_spool;	/* [backup] clear-spool = yes */
	char *socket;		/* [daemon] socket */
	char *socket_group;	/* [daemon] socket-group: may use the socket besides root */
	char *state_dir;	/* [daemon] state-dir */
	long run_timeout;	/* [daemon] run-timeout, seconds: a run silent this long is
				 * stopped */
	int run_idle;		/* [daemon] run-priority = idle (nice 10, idle I/O) or normal */
};

/* cfg_load(file, ret, ret_problems, err): parse and validate ${file}. Returns 0 and sets
 * ${ret}; or CF_EUSAGE when the file has problems: ${ret_problems} (malloc'd) then holds
 * one line per problem, "FILE:LINE: message" (LINE 0 when it concerns the whole file);
 * or CF_EIO/CF_ENOENT when the file cannot be read (message in ${err}). */
int cfg_load(const char *file, struct cfg **ret, char **ret_problems, struct cf_error *err);
/* cfg_parse(text, len, name, ret, ret_problems, err): the same on the ${len} bytes at
 * ${text}, named ${name} in problems. CF_EIO only when the text cannot be opened. */
int cfg_parse(const char *text, size_t len, const char *name, struct cfg **ret,
	char **ret_problems, struct cf_error *err);
void cfg_free(struct cfg *c);

/* cfg_dest_options(d, ret): the settings of ${d} for dst_open (strings borrowed from ${d}). */
void cfg_dest_options(const struct cfg_dest *d, struct dst_options *ret);
/* cfg_find_dest(c, name_or_url): the destination so named, or whose URL it is; NULL if none. */
const struct cfg_dest *cfg_find_dest(const struct cfg *c, const char *name_or_url);

#endif
