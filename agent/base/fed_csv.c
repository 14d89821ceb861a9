/* fed_csv.c: the federation's list of shops, one CSV line a shop (hostile text: bounded,
 * every field checked, each bad line named by its number). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/error.h"
#include "coffre/fed.h"

#define FIELD_MAX 1024
#define FOLDERS_MAX 64

static void shop_release(struct fed_shop *s)
{
	free(s->id);
	free(s->name);
	free(s->email);
	free(s->access_key);
	free(s->secret_key);
	for (size_t i = 0; i < s->nfolders; i++)
		free(s->folders[i]);
	free(s->folders);
	free(s->schedule);
	memset(s, 0, sizeof *s);
}

void fed_shops_release(struct fed_shops *l)
{
	for (size_t i = 0; i < l->n; i++)
		shop_release(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

struct problems {
	char *s;
	size_t len;
	int oom;
};

__attribute__((format(printf, 3, 4)))
static void problem(struct problems *p, unsigned line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	char head[32];
	int hn = snprintf(head, sizeof head, "line %u: ", line);
	size_t add = (size_t)hn + strlen(msg) + 1;
	char *s = realloc(p->s, p->len + add + 1);
	if (!s) {
		p->oom = 1;
		return;
	}
	sprintf(s + p->len, "%s%s\n", head, msg);
	p->s = s;
	p->len += add;
}

/* Split ${line} (modified) at ${sep}; at most ${max} fields. The field count, or -1. */
static int split(char *line, char sep, char **f, int max)
{
	int n = 0;
	for (char *p = line;; ) {
		if (n == max)
			return -1;
		f[n++] = p;
		char *c = strchr(p, sep);
		if (!c)
			return n;
		*c = '\0';
		p = c + 1;
	}
}

/* Fill ${s} from the fields of one line; NULL or the reason it is refused. */
static const char *read_shop(struct fed_shop *s, char **f, int nf)
{
	if (nf < 5)
		return "expected at least 5 fields (shop_id,name,contact_email,s3_access_key,"
		       "s3_secret_key)";
	if (!fed_id_ok(f[0]))
		return "bad shop_id (1 to 64 letters, digits, '-', '_' or '.')";
	if (!fed_value_ok(f[1], 128))
		return "bad name (1 to 128 printable characters, no quote, '#', ';' or '\\')";
	if (*f[2] && (!fed_value_ok(f[2], 254) || !strchr(f[2], '@') || strchr(f[2], ' ')))
		return "bad contact_email";
	if (!fed_secret_ok(f[3]) || !fed_secret_ok(f[4]))
		return "bad S3 key (1 to 256 printable characters without blanks)";
	if (nf > 7)
		return "too many fields (at most 7)";
	s->id = strdup(f[0]);
	s->name = strdup(f[1]);
	s->email = strdup(f[2]);
	s->access_key = strdup(f[3]);
	s->secret_key = strdup(f[4]);
	if (!s->id || !s->name || !s->email || !s->access_key || !s->secret_key)
		return "out of memory";
	if (nf > 5 && *f[5]) {
		char *d[FOLDERS_MAX];
		int nd = split(f[5], ';', d, FOLDERS_MAX);
		if (nd < 0)
			return "too many folders";
		if (!(s->folders = calloc((size_t)nd, sizeof *s->folders)))
			return "out of memory";
		for (int i = 0; i < nd; i++) {
			if (d[i][0] != '/' || !fed_value_ok(d[i], 1024) || strstr(d[i], "/../") ||
			    strstr(d[i], "/./"))
				return "bad folder (an absolute path of printable characters)";
			if (!(s->folders[s->nfolders++] = strdup(d[i])))
				return "out of memory";
		}
	}
	if (nf > 6 && *f[6]) {
		if (!fed_value_ok(f[6], 64))
			return "bad schedule";
		if (!(s->schedule = strdup(f[6])))
			return "out of memory";
	}
	return NULL;
}

int fed_csv_parse(const char *text, size_t len, struct fed_shops *ret, char **ret_problems,
	struct cf_error *err)
{
	struct fed_shops l = { 0 };
	struct problems p = { 0 };
	char buf[FED_CSV_LINE_MAX + 2];
	size_t cap = 0;
	unsigned lineno = 0;
	*ret_problems = NULL;
	if (len > FED_CSV_MAX)
		return cf_error_set(err, CF_EUSAGE, "shops file too large");
	for (size_t off = 0; off < len && !p.oom; ) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (text + off)) : len - off;
		const char *start = text + off;
		off += n + (nl ? 1 : 0);
		lineno++;
		if (n && start[n - 1] == '\r')
			n--;
		if (n > FED_CSV_LINE_MAX) {
			problem(&p, lineno, "line too long (at most %u bytes)", FED_CSV_LINE_MAX);
			continue;
		}
		if (memchr(start, '\0', n)) {
			problem(&p, lineno, "NUL byte");
			continue;
		}
		memcpy(buf, start, n);
		buf[n] = '\0';
		if (n == 0 || buf[0] == '#')
			continue;
		if (lineno == 1 && strncmp(buf, "shop_id,", 8) == 0)
			continue;
		char *f[8];
		int nf = split(buf, ',', f, 8);
		if (l.n == FED_CSV_SHOPS_MAX) {
			problem(&p, lineno, "too many shops (at most %u)", FED_CSV_SHOPS_MAX);
			break;
		}
		if (l.n == cap) {
			size_t nc = cap ? 2 * cap : 16;
			struct fed_shop *v = realloc(l.v, nc * sizeof *v);
			if (!v) {
				p.oom = 1;
				break;
			}
			l.v = v;
			cap = nc;
		}
		struct fed_shop *s = &l.v[l.n];
		memset(s, 0, sizeof *s);
		s->line = lineno;
		const char *why = read_shop(s, f, nf < 0 ? 8 : nf);
		for (size_t i = 0; !why && i < l.n; i++)
			if (strcmp(l.v[i].id, s->id) == 0) {
				problem(&p, lineno, "shop_id '%s' already on line %u", s->id, l.v[i].line);
				why = "";
			}
		if (why) {
			if (*why)
				problem(&p, lineno, "%s", why);
			shop_release(s);
			continue;
		}
		l.n++;
	}
	if (p.oom) {
		free(p.s);
		fed_shops_release(&l);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	if (p.s) {
		fed_shops_release(&l);
		*ret_problems = p.s;
		return cf_error_set(err, CF_EUSAGE, "bad lines in the shops file");
	}
	*ret = l;
	return 0;
}
