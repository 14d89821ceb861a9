/* cfg.c: the configuration file, read with inih and checked line by line. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ini.h>

#include "base/cfg_alert.h"
#include "base/cfg_db.h"
#include "base/cfg_detect.h"
#include "base/cfg_util.h"
#include "base/util.h"
#include "coffre/cfg.h"
#include "coffre/dbdump.h"
#include "coffre/error.h"
#include "coffre/signdoc.h"

#define CFG_MAX_DESTS 32
/* inih reads a line into a buffer of INI_MAX_LINE bytes (200 in Debian's libinih, built with
 * the header's defaults) and reads what does not fit as a line of its own: the characters of
 * a line before its '\n' (a '\r' counted) that are read whole. */
#define CFG_MAX_LINE (INI_MAX_LINE - 1)

static const char *const default_excludes[] = { "~$*", "*.tmp", "Thumbs.db", ".~lock.*#" };

struct parse {
	struct cfg *c;
	FILE *f;
	const char *file;
	int line;		/* lines handed to inih so far */
	char *problems;
	size_t plen;
	int nproblems, oom;
	int line_repo, line_pwfile, line_sched, line_alert, line_fed;
	int path_lines[1024];	/* the line of each path (0 past the first 1024) */
	int dest_lines[CFG_MAX_DESTS];	/* the first line of each destination's keys */
	unsigned char dest_bad[CFG_MAX_DESTS];	/* its url was refused (said already) */
	int db_lines[CFG_MAX_DBS];	/* the first line of each [database] section's keys */
};

static void problem(struct parse *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(struct parse *p, int line, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	char *full = NULL;
	int n = asprintf(&full, "%s:%d: %s\n", p->file, line, msg);
	if (n < 0) {
		p->oom = 1;
		return;
	}
	char *np = realloc(p->problems, p->plen + (size_t)n + 1);
	if (!np) {
		free(full);
		p->oom = 1;
		return;
	}
	memcpy(np + p->plen, full, (size_t)n + 1);
	p->problems = np;
	p->plen += (size_t)n;
	p->nproblems++;
	free(full);
}

static int push(char ***arr, size_t *n, const char *v)
{
	char **na = realloc(*arr, (*n + 1) * sizeof **arr);
	if (!na)
		return -1;
	*arr = na;
	if (!(na[*n] = strdup(v)))
		return -1;
	(*n)++;
	return 0;
}

/* Collapses "//" and drops a trailing '/', so the watcher's paths are spelt as the backup
 * engine spells them (a mismatch would make a changed folder look clean). */
static void normalize_path(char *p)
{
	size_t o = 0;
	for (size_t i = 0; p[i]; i++)
		if (!(p[i] == '/' && o > 0 && p[o - 1] == '/'))
			p[o++] = p[i];
	while (o > 1 && p[o - 1] == '/')
		o--;
	p[o] = 0;
}

/* Has a "." or ".." component. */
static int has_dots(const char *p)
{
	for (const char *c = p; (c = strstr(c, "/.")); c++)
		if (c[2] == '/' || c[2] == 0 || (c[2] == '.' && (c[3] == '/' || c[3] == 0)))
			return 1;
	return 0;
}

static int parse_keep(struct parse *p, const char *name, const char *v, int *slot)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < 0 || n > 100000) {
		problem(p, p->line, "'%s' must be a whole number (0 to 100000), not '%s'", name, v);
		return 0;
	}
	*slot = (int)n;
	return 0;
}

/* The keep-* keys, in the order of their bits in cfg_dest.keep_set. */
static const char *const keep_keys[] = { "keep-last", "keep-hourly", "keep-daily", "keep-weekly",
	"keep-monthly", "keep-yearly", "keep-within" };
#define NKEEP (sizeof keep_keys / sizeof *keep_keys)

static int *keep_slot(struct forget_policy *k, size_t i)
{
	int *v[] = { &k->last, &k->hourly, &k->daily, &k->weekly, &k->monthly, &k->yearly };
	return i < 6 ? v[i] : NULL;
}

/* A keep-* key into ${k}: its bit (1 << index), 0 when ${name} is no keep-* key. */
static unsigned parse_keep_key(struct parse *p, const char *name, const char *v,
	struct forget_policy *k)
{
	for (size_t i = 0; i < NKEEP; i++) {
		if (strcmp(name, keep_keys[i]) != 0)
			continue;
		if (i < 6)
			parse_keep(p, name, v, keep_slot(k, i));
		else if (forget_parse_within(v, &k->within))
			problem(p, p->line, "'%s' must be a duration such as '14 d', '36 h' or 0, "
				"not '%s'", name, v);
		return 1u << i;
	}
	return 0;
}

/* The destination named ${name}, added on its first key. NULL (problem said) if refused. */
static struct cfg_dest *dest_get(struct parse *p, const char *name, int *oom)
{
	struct cfg *c = p->c;
	for (size_t i = 0; i < c->ndests; i++)
		if (strcmp(c->dests[i].name, name) == 0)
			return &c->dests[i];
	if (!cfg_name_ok(name)) {
		problem(p, p->line, "destination name '%s' is not valid (letters, digits, '-', '_' "
			"and '.', at most 64)", name);
		return NULL;
	}
	if (c->ndests == CFG_MAX_DESTS) {
		problem(p, p->line, "too many destinations (at most %d)", CFG_MAX_DESTS);
		return NULL;
	}
	struct cfg_dest *nd = realloc(c->dests, (c->ndests + 1) * sizeof *nd);
	if (!nd) {
		*oom = 1;
		return NULL;
	}
	c->dests = nd;
	memset(&nd[c->ndests], 0, sizeof *nd);
	if (!(nd[c->ndests].name = strdup(name))) {
		*oom = 1;
		return NULL;
	}
	p->dest_lines[c->ndests] = p->line;
	return &nd[c->ndests++];
}

/* drill = weekly | daily | off | DURATION (at least a minute, but in tests). */
static int parse_drill(const char *v, long *ret)
{
	if (strcmp(v, "weekly") == 0)
		*ret = 7 * 86400;
	else if (strcmp(v, "daily") == 0)
		*ret = 86400;
	else if (strcmp(v, "off") == 0)
		*ret = 0;
	else if (sched_parse_duration(v, ret) || *ret <= 0)
		return -1;
	return 0;
}

static int dest_key(struct parse *p, const char *dname, const char *name, const char *value)
{
	int oom = 0;
	unsigned bit;
	struct cfg_dest *d = dest_get(p, dname, &oom);
	if (!d)
		return oom ? -1 : 0;
	if (strcmp(name, "url") == 0) {
		const char *kind = dst_url_kind(value);
		if (!kind)
			problem(p, p->line, "destination '%s': unknown kind of URL '%s' (expected "
				"usb:LABEL, s3://, sftp:// or a folder)", dname, value);
		else if (strcmp(kind, "local") == 0 && value[0] != '/' &&
			 strncmp(value, "file:///", 8) != 0)
			problem(p, p->line, "destination '%s': folder '%s' is not an absolute path",
				dname, value);
		else
			return cfg_set_str(&d->url, value);
		p->dest_bad[d - p->c->dests] = 1;
	} else if (strcmp(name, "s3-keys-file") == 0) {
		return cfg_set_str(&d->s3_keys_file, value);
	} else if (strcmp(name, "s3-region") == 0) {
		return cfg_set_str(&d->s3_region, value);
	} else if (strcmp(name, "s3-lock-mode") == 0) {
		if (strcmp(value, "GOVERNANCE") == 0 || strcmp(value, "COMPLIANCE") == 0)
			return cfg_set_str(&d->s3_lock_mode, value);
		problem(p, p->line, "destination '%s': s3-lock-mode must be GOVERNANCE or "
			"COMPLIANCE, not '%s'", dname, value);
	} else if (strcmp(name, "s3-lock-days") == 0) {
		char *end;
		errno = 0;
		long n = strtol(value, &end, 10);
		if (errno || end == value || *end || n < 1 || n > 36500)
			problem(p, p->line, "destination '%s': s3-lock-days must be a number of days "
				"(1 to 36500), not '%s'", dname, value);
		else
			d->s3_lock_days = (int)n;
	} else if (strcmp(name, "sftp-key-file") == 0) {
		return cfg_set_str(&d->sftp_key_file, value);
	} else if (strcmp(name, "sftp-host-key") == 0) {
		if (strncmp(value, "SHA256:", 7) != 0)
			problem(p, p->line, "destination '%s': sftp-host-key must be the SHA256:... "
				"fingerprint that ssh-keygen -l prints, not '%s'", dname, value);
		else
			return cfg_set_str(&d->sftp_host_key, value);
	} else if (strcmp(name, "download-limit") == 0) {
		if (dst_parse_rate(value, &d->download_limit))
			problem(p, p->line, "destination '%s': cannot read the download limit '%s' "
				"(for example 2MiB/s)", dname, value);
	} else if (strcmp(name, "upload-limit") == 0) {
		if (dst_parse_rate(value, &d->upload_limit))
			problem(p, p->line, "destination '%s': cannot read the upload limit '%s' "
				"(for example 200KiB/s)", dname, value);
	} else if (strcmp(name, "drill") == 0) {
		if (parse_drill(value, &d->drill_every))
			problem(p, p->line, "destination '%s': drill must be weekly, daily, off or a "
				"duration such as '3 h', not '%s'", dname, value);
		d->drill_set = 1;
	} else if (strcmp(name, "drill-budget") == 0) {
		if (util_parse_size(value, &d->drill_budget) || d->drill_budget == 0)
			problem(p, p->line, "destination '%s': cannot read the drill budget '%s' "
				"(bytes, for example 64M or 1G)", dname, value);
	} else if (strncmp(name, "keep-", 5) == 0 && (bit = parse_keep_key(p, name, value,
			&d->keep))) {
		d->keep_set |= bit;
	} else {
		problem(p, p->line, "unknown key '%s' in section [destination %s]", name, dname);
	}
	return 0;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	struct cfg *c = p->c;
	int rc = 0;
	if (strcmp(section, "backup") == 0) {
		if (strcmp(name, "path") == 0) {
			if (value[0] != '/')
				problem(p, p->line, "folder '%s' is not an absolute path", value);
			else if (has_dots(value))
				problem(p, p->line, "folder '%s' has a '.' or '..' component", value);
			else if (push(&c->paths, &c->npaths, value))
				rc = -1;
			else {
				normalize_path(c->paths[c->npaths - 1]);
				if (c->npaths <= 1024)
					p->path_lines[c->npaths - 1] = p->line;
			}
		} else if (strcmp(name, "exclude") == 0) {
			if (!*value)
				problem(p, p->line, "empty exclude pattern");
			else if (push(&c->excludes, &c->nexcludes, value))
				rc = -1;
		} else if (strcmp(name, "repository") == 0) {
			p->line_repo = p->line;
			rc = cfg_set_str(&c->repository, value);
		} else if (strcmp(name, "password-file") == 0) {
			p->line_pwfile = p->line;
			rc = cfg_set_str(&c->password_file, value);
		} else if (strcmp(name, "schedule") == 0) {
			p->line_sched = p->line;
			if (sched_parse(value, &c->schedule))
				problem(p, p->line, "schedule '%s' not understood (expected 'daily HH:MM', "
					"'every N h', 'every N min' or 'after-change DELAY' such as "
					"'after-change 10 min')", value);
		} else if (strcmp(name, "drill") == 0) {
			if (parse_drill(value, &c->drill_every))
				problem(p, p->line, "drill must be weekly, daily, off or a duration such "
					"as '3 h', not '%s'", value);
		} else if (strcmp(name, "clear-spool") == 0) {
			if (strcmp(value, "yes") == 0 || strcmp(value, "no") == 0)
				c->clear_spool = value[0] == 'y';
			else
				problem(p, p->line, "'clear-spool' must be yes or no, not '%s'", value);
		} else if (strncmp(name, "keep-", 5) == 0 && parse_keep_key(p, name, value,
				&c->keep)) {
			/* parsed */
		} else {
			problem(p, p->line, "unknown key '%s' in section [backup]", name);
		}
	} else if (strcmp(section, "daemon") == 0) {
		if (strcmp(name, "socket") == 0) {
			if (value[0] != '/')
				problem(p, p->line, "socket '%s' is not an absolute path", value);
			else
				rc = cfg_set_str(&c->socket, value);
		} else if (strcmp(name, "socket-group") == 0) {
			if (!value[0] || strpbrk(value, " :/\t"))
				problem(p, p->line, "socket-group '%s' is not a group name", value);
			else
				rc = cfg_set_str(&c->socket_group, value);
		} else if (strcmp(name, "state-dir") == 0) {
			if (value[0] != '/')
				problem(p, p->line, "state-dir '%s' is not an absolute path", value);
			else
				rc = cfg_set_str(&c->state_dir, value);
		} else if (strcmp(name, "run-timeout") == 0) {
			if (sched_parse_duration(value, &c->run_timeout))
				problem(p, p->line, "run-timeout '%s' not understood (expected a "
					"duration such as '30 min', '2 h' or '90 s')", value);
		} else if (strcmp(name, "status-page") == 0) {
			char *end = NULL;
			long port = strcmp(value, "off") == 0 ? 0 : strtol(value, &end, 10);
			if (end && (end == value || *end || port < 1 || port > 65535))
				problem(p, p->line, "status-page must be off or a port number (1 to "
					"65535), not '%s'", value);
			else
				c->status_page = (int)port;
		} else if (strcmp(name, "run-priority") == 0) {
			if (strcmp(value, "idle") == 0 || strcmp(value, "normal") == 0)
				c->run_idle = value[0] == 'i';
			else
				problem(p, p->line, "'run-priority' must be idle or normal, not '%s'",
					value);
		} else {
			problem(p, p->line, "unknown key '%s' in section [daemon]", name);
		}
	} else if (strncmp(section, "destination", 11) == 0 &&
		   (section[11] == ' ' || section[11] == 0)) {
		rc = dest_key(p, section + 11 + strspn(section + 11, " "), name, value);
	} else if (strncmp(section, "database", 8) == 0 && (section[8] == ' ' || !section[8])) {
		char msg[700];
		int idx;
		int r = cfg_db_key(c, section + 8 + strspn(section + 8, " "), name, value, msg,
			sizeof msg, &idx);
		if (idx >= 0 && !p->db_lines[idx])
			p->db_lines[idx] = p->line;
		if (r > 0)
			problem(p, p->line, "%s", msg);
		else if (r < 0)
			rc = -1;
	} else if (strcmp(section, "alert") == 0) {
		char msg[700];
		if (!p->line_alert)
			p->line_alert = p->line;
		int r = cfg_alert_key(&c->alert, name, value, msg, sizeof msg);
		if (r > 0)
			problem(p, p->line, "%s", msg);
		else if (r < 0)
			rc = -1;
	} else if (strcmp(section, "federation") == 0) {
		char **f = strcmp(name, "shop-id") == 0 ? &c->fed.shop_id :
			   strcmp(name, "federation-key") == 0 ? &c->fed.federation_key :
			   strcmp(name, "status-url") == 0 ? &c->fed.status_url :
			   strcmp(name, "status-keys-file") == 0 ? &c->fed.status_keys_file :
			   strcmp(name, "status-key-file") == 0 ? &c->fed.status_key_file : NULL;
		if (!p->line_fed)
			p->line_fed = p->line;
		if (!f)
			problem(p, p->line, "unknown key '%s' in section [federation]", name);
		else if (*f)
			problem(p, p->line, "'%s' given twice in [federation]", name);
		else if (!(*f = strdup(value)))
			rc = -1;
	} else if (strcmp(section, "detect") == 0) {
		char msg[300];
		if (cfg_detect_key(c, name, value, msg, sizeof msg))
			problem(p, p->line, "%s", msg);
	} else if (!*section) {
		problem(p, p->line, "key '%s' outside any section (expected [backup], [daemon], "
			"[destination NAME], [database NAME], [alert], [detect] or [federation])", name);
	} else {
		problem(p, p->line, "unknown section [%s] (key '%s')", section, name);
	}
	if (rc)
		p->oom = 1;
	return 1;
}

/* inih reads the file line by line through this reader: counting calls numbers lines. */
/* inih's reader. A line of exactly ${num} - 1 characters fills the buffer without its '\n',
 * which is taken here: it would read as an empty line of its own and shift the numbers of
 * the lines after it. Longer lines never get here (long_lines). */
static char *reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	char *r = fgets(str, num, p->f);
	if (!r)
		return NULL;
	p->line++;
	size_t n = strlen(r);
	if (num > 1 && n == (size_t)num - 1 && r[n - 1] != '\n') {
		int ch = getc(p->f);
		if (ch != '\n' && ch != EOF)
			ungetc(ch, p->f);
	}
	return r;
}

/* A problem for each line of ${text} that inih would cut in two (longer than CFG_MAX_LINE).
 * Returns the number of such lines. */
static int long_lines(struct parse *p, const char *text, size_t len)
{
	int bad = 0, line = 1;
	for (size_t i = 0, start = 0; i <= len; i++) {
		if (i < len && text[i] != '\n')
			continue;
		if (i - start > CFG_MAX_LINE) {
			problem(p, line, "line too long (%zu characters; at most %d)", i - start,
				CFG_MAX_LINE);
			bad++;
		}
		line++;
		start = i + 1;
	}
	return bad;
}

void cfg_free(struct cfg *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->npaths; i++)
		free(c->paths[i]);
	for (size_t i = 0; i < c->nexcludes; i++)
		free(c->excludes[i]);
	for (size_t i = 0; i < c->ndests; i++) {
		struct cfg_dest *d = &c->dests[i];
		free(d->name);
		free(d->url);
		free(d->s3_keys_file);
		free(d->s3_region);
		free(d->s3_lock_mode);
		free(d->sftp_key_file);
		free(d->sftp_host_key);
	}
	free(c->dests);
	for (size_t i = 0; i < c->ndbs; i++)
		cfg_db_release(&c->dbs[i]);
	free(c->dbs);
	free(c->paths);
	free(c->excludes);
	free(c->file);
	free(c->repository);
	free(c->password_file);
	free(c->socket);
	free(c->socket_group);
	free(c->state_dir);
	cfg_alert_release(&c->alert);
	free(c->fed.shop_id);
	free(c->fed.federation_key);
	free(c->fed.status_url);
	free(c->fed.status_keys_file);
	free(c->fed.status_key_file);
	free(c);
}

/* A file that holds a secret: there, a regular file, and private. */
static void check_secret_file(struct parse *p, int line, const char *what, const char *f)
{
	struct stat st;
	if (stat(f, &st) != 0)
		problem(p, line, "%s '%s': %s", what, f, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		problem(p, line, "%s '%s' is not a regular file", what, f);
	else if (st.st_mode & (S_IRWXG | S_IRWXO))
		problem(p, line, "%s '%s' is readable by group or others (mode %04o); run: "
			"chmod 600 '%s'", what, f, (unsigned)(st.st_mode & 07777), f);
}

/* [federation]: all or nothing, a shop id fit for an object name, a well-formed public key,
 * an s3:// status URL, secret files of mode 600. */
static void validate_fed(struct parse *p)
{
	const struct cfg_fed *f = &p->c->fed;
	if (!p->line_fed)
		return;
	if (!f->shop_id || !f->federation_key || !f->status_url || !f->status_keys_file ||
	    !f->status_key_file) {
		problem(p, p->line_fed, "[federation] needs shop-id, federation-key, status-url, "
			"status-keys-file and status-key-file (coffre enroll writes them)");
		return;
	}
	size_t n = strlen(f->shop_id);
	if (n == 0 || n > 64 || strspn(f->shop_id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
			"QRSTUVWXYZ0123456789-_.") != n || f->shop_id[0] == '.')
		problem(p, p->line_fed, "shop-id '%s' must be 1 to 64 letters, digits, '-', '_' or "
			"'.', not starting with '.'", f->shop_id);
	uint8_t pk[SIGNDOC_PK_BYTES];
	if (signdoc_key_parse(f->federation_key, pk, sizeof pk))
		problem(p, p->line_fed, "federation-key is not a public key (base64 of 32 bytes)");
	if (strncmp(f->status_url, "s3://", 5) != 0)
		problem(p, p->line_fed, "status-url must be an s3:// URL, not '%s'", f->status_url);
	check_secret_file(p, p->line_fed, "status keys file", f->status_keys_file);
	check_secret_file(p, p->line_fed, "status key file", f->status_key_file);
}

static void validate_dests(struct parse *p)
{
	struct cfg *c = p->c;
	for (size_t i = 0; i < c->ndests; i++) {
		const struct cfg_dest *d = &c->dests[i];
		int line = p->dest_lines[i];
		if (p->dest_bad[i])
			continue;
		if (!d->url) {
			problem(p, line, "destination '%s' has no 'url'", d->name);
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (c->dests[j].url && strcmp(c->dests[j].url, d->url) == 0)
				problem(p, line, "destinations '%s' and '%s' are the same place (%s)",
					c->dests[j].name, d->name, d->url);
		const char *kind = dst_url_kind(d->url);
		if (strcmp(kind, "s3") == 0) {
			if (!d->s3_keys_file)
				problem(p, line, "destination '%s' needs 's3-keys-file' (access key id "
					"on line 1, secret key on line 2)", d->name);
			else
				check_secret_file(p, line, "S3 keys file", d->s3_keys_file);
		} else if (strcmp(kind, "sftp") == 0) {
			if (!d->sftp_key_file)
				problem(p, line, "destination '%s' needs 'sftp-key-file'", d->name);
			else
				check_secret_file(p, line, "SFTP key file", d->sftp_key_file);
			if (!d->sftp_host_key)
				problem(p, line, "destination '%s' needs 'sftp-host-key' (the server's "
					"SHA256:... fingerprint)", d->name);
		}
		if ((d->s3_lock_days || d->s3_lock_mode) && strcmp(kind, "s3") != 0)
			problem(p, line, "destination '%s': Object Lock settings apply to s3:// only",
				d->name);
	}
	if (c->ndests && c->repository && (strstr(c->repository, "://") ||
					  strncmp(c->repository, "usb:", 4) == 0))
		problem(p, p->line_repo, "with destinations, the repository is the local spool: "
			"'%s' is not a local folder", c->repository);
	if (c->clear_spool && !c->ndests)
		problem(p, 0, "clear-spool = yes without any [destination NAME]: the spool is the "
			"only copy");
}

void cfg_dest_options(const struct cfg_dest *d, struct dst_options *o)
{
	memset(o, 0, sizeof *o);
	o->s3_keys_file = d->s3_keys_file;
	o->s3_region = d->s3_region;
	o->s3_lock_days = d->s3_lock_days;
	o->s3_lock_mode = d->s3_lock_mode;
	o->sftp_key_file = d->sftp_key_file;
	o->sftp_host_sha256 = d->sftp_host_key;
	o->upload_limit = d->upload_limit;
	o->download_limit = d->download_limit;
}

const struct cfg_dest *cfg_find_dest(const struct cfg *c, const char *s)
{
	for (size_t i = 0; i < c->ndests; i++)
		if (strcmp(c->dests[i].name, s) == 0 || strcmp(c->dests[i].url, s) == 0)
			return &c->dests[i];
	return NULL;
}

static void alert_problem(void *ctx, const char *msg)
{
	struct parse *p = ctx;
	problem(p, p->line_alert, "%s", msg);
}

static void validate(struct parse *p)
{
	struct cfg *c = p->c;
	struct stat st;
	if (c->npaths == 0)
		problem(p, 0, "no folder to protect (add 'path = /some/folder' lines to [backup])");
	for (size_t i = 0; i < c->npaths; i++) {
		int line = i < 1024 ? p->path_lines[i] : 0;
		if (stat(c->paths[i], &st) != 0)
			problem(p, line, "folder '%s' is missing: %s", c->paths[i], strerror(errno));
		else if (!S_ISDIR(st.st_mode))
			problem(p, line, "'%s' is not a folder", c->paths[i]);
	}
	if (!c->repository)
		problem(p, 0, "no repository (add 'repository = /path' to [backup])");
	if (!c->password_file)
		problem(p, 0, "no password file (add 'password-file = /path' to [backup])");
	else
		check_secret_file(p, p->line_pwfile, "password file", c->password_file);
	if (forget_policy_empty(&c->keep))
		problem(p, 0, "every keep-* rule is 0: every snapshot would be forgotten");
	/* Each destination: the [backup] policy, under the keys its own section set. */
	for (size_t i = 0; i < c->ndests; i++) {
		struct cfg_dest *d = &c->dests[i];
		for (size_t k = 0; k < NKEEP; k++) {
			if (d->keep_set & (1u << k))
				continue;
			if (k < 6)
				*keep_slot(&d->keep, k) = *keep_slot(&c->keep, k);
			else
				d->keep.within = c->keep.within;
		}
		if (!d->drill_set)
			d->drill_every = c->drill_every;
		if (d->keep_set && forget_policy_empty(&d->keep))
			problem(p, p->dest_lines[i], "destination '%s': every keep-* rule is 0: every "
				"snapshot there would be forgotten", d->name);
	}
	validate_dests(p);
	for (size_t i = 0; i < c->ndbs; i++) {
		char msg[700];
		if (cfg_db_check(&c->dbs[i], msg, sizeof msg))
			problem(p, p->db_lines[i], "%s", msg);
		else if (c->dbs[i].password_file)
			check_secret_file(p, p->db_lines[i], "database password file",
				c->dbs[i].password_file);
	}
	validate_fed(p);
	if (cfg_alert_validate(&c->alert, alert_problem, p))
		p->oom = 1;
}

/* Parses ${len} bytes of ${text}, named ${file} in problems. */
static int load(const char *text, size_t len, const char *file, struct cfg **ret,
	char **ret_problems, struct cf_error *err)
{
	*ret = NULL;
	*ret_problems = NULL;
	struct parse p = { .file = file };
	struct cfg *c = calloc(1, sizeof *c);
	if (!c)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	p.c = c;
	c->schedule = SCHED_DEFAULT;
	c->keep = (struct forget_policy){ .daily = 14, .weekly = 8, .monthly = 24,
		.within = FORGET_WITHIN_DEFAULT };
	c->run_timeout = CFG_DEFAULT_RUN_TIMEOUT;
	c->drill_every = 7 * 86400;	/* a restore proven every week */
	c->run_idle = 1;
	cfg_detect_init(c);
	cfg_alert_init(&c->alert);
	for (size_t i = 0; i < sizeof default_excludes / sizeof *default_excludes; i++)
		if (push(&c->excludes, &c->nexcludes, default_excludes[i]))
			p.oom = 1;
	/* A file with lines inih would cut is refused as a whole: what it would read of them
	 * is not what the file says (a folder's path cut short, its rest a line of its own). */
	if (long_lines(&p, text, len)) {
		cfg_free(c);
		if (p.oom) {
			free(p.problems);
			return cf_error_set(err, CF_ENOMEM, "out of memory");
		}
		*ret_problems = p.problems;
		return cf_error_set(err, CF_EUSAGE, "%d problem%s in '%s'", p.nproblems,
			p.nproblems > 1 ? "s" : "", file);
	}
	/* Opened for reading only: the text is not written to. */
	p.f = fmemopen((void *)(uintptr_t)text, len, "r");
	if (!p.f) {
		free(p.problems);
		cfg_free(c);
		return cf_error_sys(err, CF_EIO, "cannot read the configuration '%s'", file);
	}
	int bad = ini_parse_stream(reader, &p, handler, &p);
	fclose(p.f);
	if (bad > 0)
		problem(&p, bad, "syntax error (expected '[section]', 'key = value' or a comment)");
	else if (bad < 0)
		p.oom = 1;
	if (!c->socket && cfg_set_str(&c->socket, CFG_DEFAULT_SOCKET))
		p.oom = 1;
	if (!c->socket_group && cfg_set_str(&c->socket_group, CFG_DEFAULT_SOCKET_GROUP))
		p.oom = 1;
	if (!c->state_dir && cfg_set_str(&c->state_dir, CFG_DEFAULT_STATE_DIR))
		p.oom = 1;
	if (cfg_set_str(&c->file, file))
		p.oom = 1;
	validate(&p);
	if (p.oom) {
		free(p.problems);
		cfg_free(c);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	if (p.nproblems) {
		*ret_problems = p.problems;
		cfg_free(c);
		return cf_error_set(err, CF_EUSAGE, "%d problem%s in '%s'", p.nproblems,
			p.nproblems > 1 ? "s" : "", file);
	}
	*ret = c;
	return 0;
}

/* The whole of ${f} (a pipe too), with a NUL after it. Returns 0, CF_EIO or CF_ENOMEM. */
static int slurp(FILE *f, char **ret, size_t *ret_len)
{
	size_t len = 0, cap = 4096;
	char *b = malloc(cap);
	if (!b)
		return CF_ENOMEM;
	for (;;) {
		len += fread(b + len, 1, cap - len - 1, f);
		if (ferror(f)) {
			free(b);
			return CF_EIO;
		}
		if (feof(f))
			break;
		if (cap - len - 1 == 0) {
			char *nb = cap < SIZE_MAX / 2 ? realloc(b, cap * 2) : NULL;
			if (!nb) {
				free(b);
				return CF_ENOMEM;
			}
			b = nb;
			cap *= 2;
		}
	}
	b[len] = 0;
	*ret = b;
	*ret_len = len;
	return 0;
}

int cfg_load(const char *file, struct cfg **ret, char **ret_problems, struct cf_error *err)
{
	*ret = NULL;
	*ret_problems = NULL;
	FILE *f = fopen(file, "re");
	if (!f)
		return cf_error_sys(err, errno == ENOENT ? CF_ENOENT : CF_EIO,
			"cannot read the configuration '%s'", file);
	/* Read whole first: every line is looked at before inih reads any (load). */
	char *text = NULL;
	size_t len = 0;
	int rc = slurp(f, &text, &len);
	int e = errno;
	fclose(f);
	if (rc == CF_ENOMEM)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	if (rc) {
		errno = e;
		return cf_error_sys(err, CF_EIO, "cannot read the configuration '%s'", file);
	}
	rc = load(text, len, file, ret, ret_problems, err);
	free(text);
	return rc;
}

int cfg_parse(const char *text, size_t len, const char *name, struct cfg **ret,
	char **ret_problems, struct cf_error *err)
{
	return load(text, len, name, ret, ret_problems, err);
}
