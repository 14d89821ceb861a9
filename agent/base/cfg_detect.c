/* cfg_detect.c: [detect]: the watch on or off, the canaries, and the thresholds of the
 * ransomware alarm (detect.h), each bounded so that no value turns the watch deaf or wild
 * without saying so. */
#include "base/cfg_detect.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/cfg.h"
#include "coffre/detect.h"
#include "coffre/sched.h"
#include "base/cfg_util.h"

void cfg_detect_init(struct cfg *c)
{
	c->detect_canaries = 1;
	c->detect_enabled = 1;
	detect_policy_default(&c->detect_policy);
}

/* The thresholds: events of a kind within the window for it to count. */
static const struct {
	const char *key;
	enum detect_kind kind;
} counts[] = {
	{ "format-breaks", DETECT_FORMAT }, { "turned-random", DETECT_RANDOM },
	{ "renames", DETECT_RENAME }, { "notes", DETECT_NOTE }, { "deletions", DETECT_DELETE },
};

#define COUNT_MAX 1000000

static int whole(const char *v, unsigned long lo, unsigned long hi, unsigned long *ret)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n < lo || n > hi)
		return -1;
	*ret = n;
	return 0;
}

static int factor(const char *v, double *ret)
{
	char *end;
	errno = 0;
	double f = strtod(v, &end);
	if (errno || end == v || *end || !(f >= 1 && f <= 1000))
		return -1;
	*ret = f;
	return 0;
}

int cfg_detect_key(struct cfg *c, const char *key, const char *value, char *msg, size_t n)
{
	struct detect_policy *p = &c->detect_policy;
	int *flag = strcmp(key, "canaries") == 0 ? &c->detect_canaries :
		    strcmp(key, "enabled") == 0 ? &c->detect_enabled : NULL;
	if (flag) {
		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
			return cfg_say(msg, n, "'%s' must be yes or no, not '%s'", key, value);
		*flag = value[0] == 'y';
		return 0;
	}
	unsigned long u;
	for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
		if (strcmp(key, counts[i].key) != 0)
			continue;
		if (whole(value, 1, COUNT_MAX, &u))
			return cfg_say(msg, n, "'%s' must be a count from 1 to %d, not '%s'", key,
				COUNT_MAX, value);
		p->threshold[counts[i].kind] = (uint32_t)u;
		return 0;
	}
	if (strcmp(key, "window") == 0) {
		long s;
		if (sched_parse_duration(value, &s) || s < 60 || s > 86400)
			return cfg_say(msg, n, "'window' must be a duration from 1 min to 24 h, such "
				"as '10 min', not '%s'", value);
		p->window = s;
		return 0;
	}
	double *f = strcmp(key, "rate-factor") == 0 ? &p->rate_factor :
		    strcmp(key, "mass-factor") == 0 ? &p->mass_factor : NULL;
	if (f) {
		if (factor(value, f))
			return cfg_say(msg, n, "'%s' must be a number from 1 to 1000 (times the "
				"usual rate), not '%s'", key, value);
		return 0;
	}
	uint32_t *fl = strcmp(key, "rate-floor") == 0 ? &p->rate_floor :
		       strcmp(key, "mass-floor") == 0 ? &p->mass_floor : NULL;
	if (fl) {
		if (whole(value, 1, COUNT_MAX, &u))
			return cfg_say(msg, n, "'%s' must be a count of files a minute from 1 to %d, "
				"not '%s'", key, COUNT_MAX, value);
		*fl = (uint32_t)u;
		return 0;
	}
	return cfg_say(msg, n, "unknown key '%s' in section [detect]", key);
}
