/* fed_check.c: what a federation's files may hold: shop ids, configuration values,
 * endpoints. */
#include <string.h>

#include "coffre/fed.h"

int fed_id_ok(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 64 || id[0] == '.' || id[0] == '-')
		return 0;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n;
}

int fed_value_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max || s[0] == ' ' || s[n - 1] == ' ')
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '#' || *p == ';' || *p == '\\')
			return 0;
	return 1;
}

const char *fed_endpoint_host(const char *e)
{
	const char *h = strncmp(e, "https://", 8) == 0 ? e + 8 :
			strncmp(e, "http://", 7) == 0 ? e + 7 : NULL;
	if (!h || !*h || strlen(h) > 255 || strcspn(h, "/?#@ \t\"\\;") != strlen(h))
		return NULL;
	return h;
}

int fed_secret_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 256)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return 0;
	return 1;
}
