/* cfg_util.c: what the section parsers (cfg.c, cfg_alert.c, cfg_db.c) share. */
#include "base/cfg_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cfg_set_str(char **slot, const char *v)
{
	char *d = strdup(v);
	if (!d)
		return -1;
	free(*slot);
	*slot = d;
	return 0;
}

int cfg_say(char *msg, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, n, fmt, ap);
	va_end(ap);
	return 1;
}

int cfg_name_ok(const char *n)
{
	if (!*n || strlen(n) > 64)
		return 0;
	for (; *n; n++)
		if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') ||
		      (*n >= '0' && *n <= '9') || *n == '-' || *n == '_' || *n == '.'))
			return 0;
	return 1;
}

