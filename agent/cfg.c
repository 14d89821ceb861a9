/* cfg.c: the configuration file, read with inih and checked line by line. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ini.h>

#include "coffre/cfg.h"
#include "coffre/error.h"

static const char *const default_excludes[] = { "~$*", "*.tmp", "Thumbs.db", ".~lock.*#" };

struct parse {
	struct cfg *c;
	FILE *f;
	const char *file;
	int line;		/* lines handed to inih so far */
	char *problems;
	size_t plen;
	int nproblems, oom;
	int line_repo, line_pwfile, line_sched;
	int path_lines[1024];	/* the line of each path (0 past the first 1024) */
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

static int set_str(char **slot, const char *v)
{
	char *d = strdup(v);
	if (!d)
		return -1;
	free(*slot);
	*slot = d;
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
			rc = set_str(&c->repository, value);
		} else if (strcmp(name, "password-file") == 0) {
			p->line_pwfile = p->line;
			rc = set_str(&c->password_file, value);
		} else if (strcmp(name, "schedule") == 0) {
			p->line_sched = p->line;
			if (sched_parse(value, &c->schedule))
				problem(p, p->line, "schedule '%s' not understood (expected 'daily HH:MM', "
					"'every N h', 'every N min' or 'after-change DELAY' such as "
					"'after-change 10 min')", value);
		} else if (strcmp(name, "keep-daily") == 0) {
			parse_keep(p, name, value, &c->keep_daily);
		} else if (strcmp(name, "keep-weekly") == 0) {
			parse_keep(p, name, value, &c->keep_weekly);
		} else if (strcmp(name, "keep-monthly") == 0) {
			parse_keep(p, name, value, &c->keep_monthly);
		} else {
			problem(p, p->line, "unknown key '%s' in section [backup]", name);
		}
	} else if (strcmp(section, "daemon") == 0) {
		if (strcmp(name, "socket") == 0) {
			if (value[0] != '/')
				problem(p, p->line, "socket '%s' is not an absolute path", value);
			else
				rc = set_str(&c->socket, value);
		} else if (strcmp(name, "socket-group") == 0) {
			if (!value[0] || strpbrk(value, " :/\t"))
				problem(p, p->line, "socket-group '%s' is not a group name", value);
			else
				rc = set_str(&c->socket_group, value);
		} else if (strcmp(name, "state-dir") == 0) {
			if (value[0] != '/')
				problem(p, p->line, "state-dir '%s' is not an absolute path", value);
			else
				rc = set_str(&c->state_dir, value);
		} else {
			problem(p, p->line, "unknown key '%s' in section [daemon]", name);
		}
	} else if (!*section) {
		problem(p, p->line, "key '%s' outside any section (expected [backup] or [daemon])",
			name);
	} else {
		problem(p, p->line, "unknown section [%s] (key '%s')", section, name);
	}
	if (rc)
		p->oom = 1;
	return 1;
}

/* inih reads the file line by line through this reader: counting calls numbers lines. */
static char *reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	char *r = fgets(str, num, p->f);
	if (r)
		p->line++;
	return r;
}

void cfg_free(struct cfg *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->npaths; i++)
		free(c->paths[i]);
	for (size_t i = 0; i < c->nexcludes; i++)
		free(c->excludes[i]);
	free(c->paths);
	free(c->excludes);
	free(c->file);
	free(c->repository);
	free(c->password_file);
	free(c->socket);
	free(c->socket_group);
	free(c->state_dir);
	free(c);
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
	if (!c->password_file) {
		problem(p, 0, "no password file (add 'password-file = /path' to [backup])");
	} else if (stat(c->password_file, &st) != 0) {
		problem(p, p->line_pwfile, "password file '%s': %s", c->password_file,
			strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		problem(p, p->line_pwfile, "password file '%s' is not a regular file",
			c->password_file);
	} else if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		problem(p, p->line_pwfile, "password file '%s' is readable by group or others "
			"(mode %04o); run: chmod 600 '%s'", c->password_file,
			(unsigned)(st.st_mode & 07777), c->password_file);
	}
	if (c->keep_daily == 0 && c->keep_weekly == 0 && c->keep_monthly == 0)
		problem(p, 0, "keep-daily, keep-weekly and keep-monthly are all 0: every snapshot "
			"would be forgotten");
}

int cfg_load(const char *file, struct cfg **ret, char **ret_problems, struct cf_error *err)
{
	*ret = NULL;
	*ret_problems = NULL;
	struct parse p = { .file = file };
	p.f = fopen(file, "re");
	if (!p.f)
		return cf_error_sys(err, errno == ENOENT ? CF_ENOENT : CF_EIO,
			"cannot read the configuration '%s'", file);
	struct cfg *c = calloc(1, sizeof *c);
	if (!c) {
		fclose(p.f);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	p.c = c;
	c->schedule = SCHED_DEFAULT;
	c->keep_daily = 14;
	c->keep_weekly = 8;
	c->keep_monthly = 24;
	for (size_t i = 0; i < sizeof default_excludes / sizeof *default_excludes; i++)
		if (push(&c->excludes, &c->nexcludes, default_excludes[i]))
			p.oom = 1;
	int bad = ini_parse_stream(reader, &p, handler, &p);
	fclose(p.f);
	if (bad > 0)
		problem(&p, bad, "syntax error (expected '[section]', 'key = value' or a comment)");
	else if (bad < 0)
		p.oom = 1;
	if (!c->socket && set_str(&c->socket, CFG_DEFAULT_SOCKET))
		p.oom = 1;
	if (!c->socket_group && set_str(&c->socket_group, CFG_DEFAULT_SOCKET_GROUP))
		p.oom = 1;
	if (!c->state_dir && set_str(&c->state_dir, CFG_DEFAULT_STATE_DIR))
		p.oom = 1;
	if (set_str(&c->file, file))
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
