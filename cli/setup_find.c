/* setup_find.c: the folders worth protecting on a shop's PC: each user's Documents and
 * Desktop (Bureau), the Samba shares (smb.conf, read with inih) and Dolibarr's documents
 * folder ($dolibarr_main_data_root in its conf.php). What is read here was written by others:
 * files are opened without following a last symlink, bounded, and every value found must be
 * an absolute folder that exists. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "setup.h"
#include "base/util.h"
#include "coffre/error.h"

#define FIND_MAX_FILE (1u << 20)	/* smb.conf, conf.php: larger is not what we look for */
#define FIND_MAX_USERS 256

int setup_path_ok(const char *p)
{
	size_t n = strlen(p);
	if (n < 2 || p[0] != '/' || n >= PATH_MAX || isspace((unsigned char)p[n - 1]))
		return 0;
	for (const unsigned char *c = (const unsigned char *)p; *c; c++)
		if (*c < 0x20 || *c == 0x7f || *c == ';' || *c == '#')
			return 0;
	return 1;
}

/* ${a} is ${b} or inside it. */
static int beneath(const char *a, const char *b)
{
	size_t n = strlen(b);
	if (strcmp(b, "/") == 0)
		return 1;
	return strncmp(a, b, n) == 0 && (a[n] == 0 || a[n] == '/');
}

/* The size of the regular files under ${path}, without crossing into other filesystems. */
static void measure(struct setup_folder *f)
{
	char *argv[] = { f->path, NULL };
	FTS *fts = fts_open(argv, FTS_PHYSICAL | FTS_XDEV | FTS_NOCHDIR, NULL);
	if (!fts)
		return;
	FTSENT *e;
	while ((e = fts_read(fts)) != NULL) {
		if (e->fts_info == FTS_F) {
			f->bytes += (uint64_t)e->fts_statp->st_size;
			f->files++;
		}
	}
	fts_close(fts);
}

int setup_folders_add(struct setup_folders *l, const char *path, enum setup_why why,
	const char *owner)
{
	char real[PATH_MAX];
	struct stat st;
	if (!realpath(path, real) || stat(real, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    !setup_path_ok(real))
		return 0;
	/* A folder inside one listed is backed up with it; one that holds listed folders
	 * takes their place. */
	for (size_t i = 0; i < l->n; i++)
		if (beneath(real, l->v[i].path))
			return 0;
	size_t keep = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (beneath(l->v[i].path, real)) {
			free(l->v[i].path);
			free(l->v[i].owner);
		} else {
			l->v[keep++] = l->v[i];
		}
	}
	l->n = keep;
	struct setup_folder *v = realloc(l->v, (l->n + 1) * sizeof *v);
	if (!v)
		return -1;
	l->v = v;
	struct setup_folder *f = &v[l->n];
	memset(f, 0, sizeof *f);
	f->path = strdup(real);
	f->owner = owner ? strdup(owner) : NULL;
	if (!f->path || (owner && !f->owner)) {
		free(f->path);
		free(f->owner);
		return -1;
	}
	f->why = why;
	f->ticked = 1;
	measure(f);
	l->n++;
	return 1;
}

void setup_folders_release(struct setup_folders *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].owner);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* ---- users' folders ---- */

static int add_user(struct setup_folders *l, const char *home, const char *user)
{
	static const struct {
		const char *name;
		enum setup_why why;
	} dirs[] = { { "Documents", SETUP_DOCUMENTS }, { "Desktop", SETUP_DESKTOP },
		{ "Bureau", SETUP_DESKTOP } };
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
		char *p = util_path("%s/%s", home, dirs[i].name);
		int rc = p ? setup_folders_add(l, p, dirs[i].why, user) : -1;
		free(p);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int find_users(const char *root, struct setup_folders *l)
{
	char *homes = util_path("%s/home", root);
	char *roothome = util_path("%s/root", root);
	int rc = homes && roothome ? 0 : -1;
	DIR *d = homes ? opendir(homes) : NULL;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	while (rc == 0 && d && n < FIND_MAX_USERS && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char **v = realloc(names, (n + 1) * sizeof *v);
		if (!v || !(v[n] = strdup(e->d_name))) {
			names = v ? v : names;
			rc = -1;
			break;
		}
		names = v;
		n++;
	}
	if (d)
		closedir(d);
	/* In name order: the list the shopkeeper sees does not change from one run to another. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char *t = names[j];
			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		char *home = rc == 0 ? util_path("%s/%s", homes, names[i]) : NULL;
		if (rc == 0 && (!home || add_user(l, home, names[i]) < 0))
			rc = -1;
		free(home);
		free(names[i]);
	}
	free(names);
	if (rc == 0 && add_user(l, roothome, "root") < 0)
		rc = -1;
	free(homes);
	free(roothome);
	return rc;
}

/* ---- bounded reads ---- */

/* The text of ${path} (a regular file, its last component no symlink), NUL-terminated;
 * NULL when missing, unreadable or too large. */
char *setup_read_text(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > FIND_MAX_FILE) {
		close(fd);
		return NULL;
	}
	struct buf b = { 0 };
	struct cf_error err = { 0 };
	int rc = util_read_fd(fd, path, FIND_MAX_FILE, &b, &err);
	close(fd);
	if (rc || buf_put_u8(&b, 0) != 0) {
		buf_free(&b);
		return NULL;
	}
	return (char *)b.p;
}

/* ---- Samba ---- */

struct samba {
	int (*fn)(void *ctx, const char *share, const char *path);
	void *ctx;
	int rc;
};

static int samba_key(void *user, const char *section, const char *name, const char *value)
{
	struct samba *s = user;
	/* [global] sets no share; [homes] is the users' homes (found above); [printers] and
	 * print$ hold spool files and drivers. A path with %U and the like depends on who
	 * connects. */
	if (s->rc || strcasecmp(section, "global") == 0 || strcasecmp(section, "homes") == 0 ||
	    strcasecmp(section, "printers") == 0 || strcasecmp(section, "print$") == 0)
		return 1;
	if ((strcasecmp(name, "path") != 0 && strcasecmp(name, "directory") != 0) ||
	    value[0] != '/' || strchr(value, '%'))
		return 1;
	s->rc = s->fn(s->ctx, section, value);
	return 1;
}

int setup_samba_paths(char *text, int (*fn)(void *ctx, const char *share, const char *path),
	void *ctx)
{
	/* smb.conf indents its keys, which inih would read as the previous value's
	 * continuation lines: the text goes to inih without them. */
	char *o = text;
	for (const char *p = text; *p;) {
		p += strspn(p, " \t");
		while (*p && *p != '\n')
			*o++ = *p++;
		if (*p)
			*o++ = *p++;
	}
	*o = 0;
	struct samba s = { fn, ctx, 0 };
	/* Lines inih finds wrong are skipped; the others still count. */
	if (!*text)
		return 0;
	FILE *f = fmemopen(text, strlen(text), "r");
	if (!f)
		return -1;
	ini_parse_file(f, samba_key, &s);
	fclose(f);
	return s.rc;
}

static int samba_add(void *ctx, const char *share, const char *path)
{
	return setup_folders_add(ctx, path, SETUP_SAMBA, share) < 0 ? -1 : 0;
}

static int find_samba(const struct setup_where *w, struct setup_folders *l)
{
	char *def = w->smb_conf ? NULL : util_path("%s/etc/samba/smb.conf", w->root);
	const char *file = w->smb_conf ? w->smb_conf : def;
	char *text = file ? setup_read_text(file) : NULL;
	int rc = file ? 0 : -1;
	if (text && setup_samba_paths(text, samba_add, l) != 0)
		rc = -1;
	free(text);
	free(def);
	return rc;
}

/* ---- Dolibarr ---- */

const char *const setup_dolibarr_confs[] = { "/etc/dolibarr/conf.php",
	"/var/www/*/htdocs/conf/conf.php", "/var/www/html/dolibarr/htdocs/conf/conf.php",
	"/usr/share/dolibarr/htdocs/conf/conf.php", NULL };

char *setup_dolibarr_root(const char *text)
{
	static const char key[] = "$dolibarr_main_data_root";
	for (const char *p = strstr(text, key); p; p = strstr(p + 1, key)) {
		const char *q = p + sizeof key - 1;
		q += strspn(q, " \t");
		if (*q++ != '=')
			continue;
		q += strspn(q, " \t");
		char quote = *q++;
		if (quote != '\'' && quote != '"')
			continue;
		const char *end = strchr(q, quote);
		if (!end || end - q >= PATH_MAX || memchr(q, '\n', (size_t)(end - q)))
			continue;
		return strndup(q, (size_t)(end - q));
	}
	return NULL;
}

static int find_dolibarr(const char *root, struct setup_folders *l)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && setup_dolibarr_confs[i]; i++) {
		char *pattern = util_path("%s%s", root, setup_dolibarr_confs[i]);
		glob_t gl;
		if (!pattern)
			return -1;
		if (glob(pattern, GLOB_NOSORT, NULL, &gl) == 0) {
			for (size_t k = 0; rc == 0 && k < gl.gl_pathc; k++) {
				char *text = setup_read_text(gl.gl_pathv[k]);
				char *dir = text ? setup_dolibarr_root(text) : NULL;
				if (dir && dir[0] == '/' && setup_folders_add(l, dir, SETUP_DOLIBARR,
								  NULL) < 0)
					rc = -1;
				free(dir);
				free(text);
			}
			globfree(&gl);
		}
		free(pattern);
	}
	return rc;
}

int setup_find_folders(const struct setup_where *w, struct setup_folders *l)
{
	if (find_users(w->root, l) < 0 || find_samba(w, l) < 0 || find_dolibarr(w->root, l) < 0)
		return -1;
	return 0;
}
