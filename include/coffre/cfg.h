/* cfg.h: the daemon's configuration file (INI, parsed with inih): folders to protect, their
 * excludes, the repository, the schedule, the retention, the control socket and state. */
#ifndef COFFRE_CFG_H
#define COFFRE_CFG_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/detect.h"
#include "coffre/dst.h"
#include "coffre/forget.h"
#include "coffre/sched.h"

struct cf_error;
struct dbdump_source;

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
	uint64_t download_limit;	/* likewise for reads (restores, drills) */
	uint64_t drill_budget;	/* bytes a restore drill may fetch (drill.h), 0: its default */
	long drill_every;	/* seconds between coffred's restore drills of it, 0: none
				 * (drill = weekly, the [backup] default) */
	int drill_set;		/* its section said drill = */
	/* Its retention: the [backup] policy, with the keep-* keys of its own section over it
	 * (a USB drive may keep more generations than the spool). */
	struct forget_policy keep;
	unsigned keep_set;	/* which keep-* keys the section set (bits of cfg.c) */
};

#define CFG_ALERT_MAX_RCPT 16
#define CFG_DEFAULT_REMINDER (24 * 3600)
#define CFG_DEFAULT_UNPROTECTED_AFTER (36 * 3600)
#define CFG_DEFAULT_BEHIND_AFTER (7 * 24 * 3600)

/* The [alert] section: who is told, through which channels, and when (cfg_alert.c). A
 * channel is configured when its address is set: mail with mail-to and smtp-url, the
 * webhook with webhook-url. */
struct cfg_alert {
	char *mail_to[CFG_ALERT_MAX_RCPT];	/* mail-to = ... (several) */
	size_t nmail_to;
	char *mail_from;	/* default: coffre@HOST */
	char *smtp_url;		/* smtp://host[:port] (STARTTLS required) or smtps:// */
	char *smtp_user;
	char *smtp_password_file;	/* mode 600, first line */
	char *webhook_url;	/* https://, or http:// on the loopback */
	char *webhook_header;	/* "Name: value", sent with each POST */
	char *ca_file;		/* PEM certificates trusted instead of the system's */
	char language[3];	/* "fr" or "en"; "" until validated (then from the locale) */
	char *shop_name;	/* default: the host name */
	long reminder;		/* seconds between reminders while a condition lasts */
	long unprotected_after;	/* seconds without a good backup before "not protected" */
	long behind_after;	/* seconds a destination may go without a complete push */
	int desktop_notify;	/* desktop-notify = yes (default): a desktop notification to
				 * the graphical sessions when a condition opens */
};

/* [federation]: what an enrolled shop needs to report to its federation (written by
 * coffre enroll). Each key is NULL when absent; the section is in use when shop_id is set,
 * and then every key is required. */
struct cfg_fed {
	char *shop_id;		/* shop-id: letters, digits, '-', '_', '.' (at most 64) */
	char *federation_key;	/* federation-key: the federation's Ed25519 public key, base64 */
	char *status_url;	/* status-url: s3://HOST[:PORT]/BUCKET[/PREFIX]; the shop's
				 * status object is PREFIX/status/SHOP.json there */
	char *status_keys_file;	/* status-keys-file: S3 keys for status-url (mode 600) */
	char *status_key_file;	/* status-key-file: the shop's Ed25519 secret key, base64
				 * (mode 600) */
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
	int detect_canaries;	/* [detect] canaries = yes (default) */
	int detect_enabled;	/* [detect] enabled = yes (default) */
	struct detect_policy detect_policy;	/* [detect] window, thresholds, rates */
	char *socket;		/* [daemon] socket */
	char *socket_group;	/* [daemon] socket-group: may use the socket besides root */
	char *state_dir;	/* [daemon] state-dir */
	long drill_every;	/* [backup] drill = weekly (default) | daily | off | DURATION */
	long run_timeout;	/* [daemon] run-timeout, seconds: a run silent this long is
				 * stopped */
	int run_idle;		/* [daemon] run-priority = idle (nice 10, idle I/O) or normal */
	int status_page;	/* [daemon] status-page = PORT on 127.0.0.1, 0: off (default) */
	struct cfg_alert alert;	/* [alert] */
	struct cfg_fed fed;	/* [federation] */
	struct dbdump_source *dbs;	/* [database NAME] sections, in file order */
	size_t ndbs;
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

/* cfg_alert_mail(a), cfg_alert_webhook(a): whether the channel is configured (the desktop
 * notification is one when ${a}->desktop_notify). */
int cfg_alert_mail(const struct cfg_alert *a);
int cfg_alert_webhook(const struct cfg_alert *a);

/* cfg_dest_options(d, ret): the settings of ${d} for dst_open (strings borrowed from ${d}). */
void cfg_dest_options(const struct cfg_dest *d, struct dst_options *ret);
/* cfg_find_dest(c, name_or_url): the destination so named, or whose URL it is; NULL if none. */
const struct cfg_dest *cfg_find_dest(const struct cfg *c, const char *name_or_url);

#endif
