/* setup_dolibarr.c: the database Dolibarr's conf.php names ($dolibarr_main_db_type, _host,
 * _port, _name, _user, _pass), read as text and never run: only plain assignments of one
 * quoted string on a line of their own count ($dolibarr_main_db_name='dolibarr';). A value
 * that PHP would compute (a "..." string holding $ or \, a concatenation, a constant) is
 * not understood, hence not taken; a line inside a block comment is not read. */
#include <stdio.h>
#include <string.h>

#include "setup.h"

#define PREFIX "$dolibarr_main_db_"

/* The keys read, in the order of struct setup_dolibarr's fields. */
static const char *const keys[] = { "type", "host", "port", "name", "user", "pass" };

static char *field(struct setup_dolibarr *d, size_t k)
{
	char *const f[] = { d->type, d->host, d->port, d->name, d->user, d->pass };
	return f[k];
}

/* The quoted value at ${q} (at its opening quote) on the line ending at ${eol}, decoded as
 * PHP decodes a literal, into ${out} (${n} bytes); then only blanks and ';'. 0, or -1 when
 * it is not one plain literal that fits. */
static int literal(const char *q, const char *eol, char *out, size_t n)
{
	char quote = *q++;
	size_t len = 0;
	if (quote != '\'' && quote != '"')
		return -1;
	for (; q < eol && *q != quote; q++) {
		unsigned char c = (unsigned char)*q;
		if (c == '\\' && quote == '\'' && q + 1 < eol && (q[1] == '\'' || q[1] == '\\'))
			c = (unsigned char)*++q;
		else if (c == '\\' || (quote == '"' && c == '$'))
			return -1;	/* an escape or a variable: PHP would compute it */
		if (c < 0x20 || c == 0x7f || len + 1 >= n)
			return -1;
		out[len++] = (char)c;
	}
	if (q >= eol)
		return -1;	/* not closed on its line */
	q++;
	q += strspn(q, " \t");
	if (q >= eol || *q != ';')
		return -1;
	out[len] = 0;
	return 0;
}

int setup_dolibarr_db(const char *text, struct setup_dolibarr *ret)
{
	struct setup_dolibarr d;
	int comment = 0;
	memset(&d, 0, sizeof d);
	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		if (!eol)
			eol = p + strlen(p);
		const char *q = p + strspn(p, " \t");
		p = *eol ? eol + 1 : eol;
		size_t len = (size_t)(eol - q);
		const char *close = memmem(q, len, "*/", 2);
		if (comment) {
			comment = !close;
			continue;
		}
		if (len >= 2 && q[0] == '/' && q[1] == '*') {
			comment = !memmem(q + 2, len - 2, "*/", 2);
			continue;
		}
		if (len <= sizeof PREFIX - 1 || memcmp(q, PREFIX, sizeof PREFIX - 1) != 0)
			continue;
		q += sizeof PREFIX - 1;
		for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
			size_t kl = strlen(keys[k]);
			if ((size_t)(eol - q) <= kl || memcmp(q, keys[k], kl) != 0 ||
			    (q[kl] != ' ' && q[kl] != '\t' && q[kl] != '='))
				continue;
			const char *v = q + kl + strspn(q + kl, " \t");
			if (v >= eol || *v != '=')
				break;
			v++;
			v += strspn(v, " \t");
			char value[SETUP_DB_VALUE_MAX];
			/* The last assignment is the one PHP keeps. */
			if (v < eol && literal(v, eol, value, sizeof value) == 0)
				memcpy(field(&d, k), value, strlen(value) + 1);
			break;
		}
	}
	if (!d.name[0] || (strcmp(d.type, "mysqli") != 0 && strcmp(d.type, "mysql") != 0 &&
			   strcmp(d.type, "pgsql") != 0))
		return -1;
	*ret = d;
	return 0;
}
