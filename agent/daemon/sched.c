/* sched.c: schedule parsing and the next due time. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "coffre/sched.h"

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A number, optional blanks, a unit; returns seconds or -1. */
static long parse_amount(const char *p, int allow_seconds)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)*p))
		return -1;
	long n = strtol(p, &end, 10);
	if (errno || n <= 0 || n > 1000000)
		return -1;
	p = skip_ws(end);
	size_t len = strcspn(p, " \t");
	if (len == 0 || *skip_ws(p + len))
		return -1;
	static const struct { const char *name; long mult; int secs; } units[] = {
		{ "s", 1, 1 }, { "sec", 1, 1 }, { "second", 1, 1 }, { "seconds", 1, 1 },
		{ "m", 60, 0 }, { "min", 60, 0 }, { "minute", 60, 0 }, { "minutes", 60, 0 },
		{ "h", 3600, 0 }, { "hour", 3600, 0 }, { "hours", 3600, 0 },
	};
	for (size_t i = 0; i < sizeof units / sizeof *units; i++)
		if (strlen(units[i].name) == len && strncasecmp(p, units[i].name, len) == 0) {
			if (units[i].secs && !allow_seconds)
				return -1;
			return n * units[i].mult;
		}
	return -1;
}

int sched_parse_duration(const char *text, long *ret_seconds)
{
	long n = parse_amount(skip_ws(text), 1);
	if (n < 0)
		return -1;
	*ret_seconds = n;
	return 0;
}

int sched_parse(const char *text, struct sched_spec *ret)
{
	struct sched_spec s = { .kind = _SCHED_KIND_INVALID };
	const char *p = skip_ws(text);
	if (strncasecmp(p, "daily", 5) == 0 && (p[5] == ' ' || p[5] == '\t')) {
		int h, m, used = 0;
		p = skip_ws(p + 5);
		if (!isdigit((unsigned char)*p) || sscanf(p, "%2d:%2d%n", &h, &m, &used) != 2)
			return -1;
		if (*skip_ws(p + used) || h < 0 || h > 23 || m < 0 || m > 59 || p[used - 3] != ':')
			return -1;
		s.kind = SCHED_DAILY;
		s.hour = h;
		s.minute = m;
	} else if (strncasecmp(p, "every", 5) == 0 && (p[5] == ' ' || p[5] == '\t')) {
		s.kind = SCHED_EVERY;
		if ((s.seconds = parse_amount(skip_ws(p + 5), 0)) < 0)
			return -1;
	} else if (strncasecmp(p, "after-change", 12) == 0 && (p[12] == ' ' || p[12] == '\t')) {
		s.kind = SCHED_AFTER_CHANGE;
		if ((s.seconds = parse_amount(skip_ws(p + 12), 1)) < 0)
			return -1;
	} else {
		return -1;
	}
	*ret = s;
	return 0;
}

void sched_format(const struct sched_spec *s, char *out, size_t n)
{
	switch (s->kind) {
	case SCHED_DAILY:
		snprintf(out, n, "daily %02d:%02d", s->hour, s->minute);
		break;
	case SCHED_EVERY:
		if (s->seconds % 3600 == 0)
			snprintf(out, n, "every %ld h", s->seconds / 3600);
		else
			snprintf(out, n, "every %ld min", s->seconds / 60);
		break;
	case SCHED_AFTER_CHANGE:
		snprintf(out, n, "after-change %ld s", s->seconds);
		break;
	default:
		snprintf(out, n, "?");
	}
}

/* The latest daily slot at or before ${now} (local time, DST-safe through mktime). */
static time_t daily_slot(const struct sched_spec *s, time_t now, int day_offset)
{
	struct tm tm;
	localtime_r(&now, &tm);
	tm.tm_hour = s->hour;
	tm.tm_min = s->minute;
	tm.tm_sec = 0;
	tm.tm_mday += day_offset;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

time_t sched_next(const struct sched_spec *s, time_t last_run, time_t last_change, time_t now)
{
	time_t due;
	switch (s->kind) {
	case SCHED_DAILY: {
		time_t prev = daily_slot(s, now, 0);
		if (prev > now)
			prev = daily_slot(s, now, -1);
		if (last_run < prev)
			return now + SCHED_CATCHUP;	/* missed (or never run) */
		return daily_slot(s, prev, 1);
	}
	case SCHED_EVERY:
		if (last_run <= 0)
			return now + SCHED_CATCHUP;
		due = last_run + s->seconds;
		return due < now ? now + SCHED_CATCHUP : due;
	case SCHED_AFTER_CHANGE:
		if (last_change <= 0)
			return 0;
		due = last_change + s->seconds;
		return due < now ? now : due;
	default:
		return 0;
	}
}
