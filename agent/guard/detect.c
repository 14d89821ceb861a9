/* detect.c: the decision that turns signals into an alarm: events counted per kind over a
 * sliding window, the usual rate of changes learnt per minute (see detect.h). */
#include <stdlib.h>
#include <string.h>

#include "coffre/detect.h"

/* The window is cut into at most NBUCKETS buckets of WIDTH seconds (1 s up to a window of
 * 1024 s, so the default 600 s window is exact; a longer window counts whole buckets, a
 * bucket partly in the window counting fully). Memory stays fixed whatever the events. */
#define NBUCKETS 1024
#define WINDOW_MAX (INT64_C(65535) * NBUCKETS)	/* bucket offsets fit 16 bits */

/* The usual rate: an exponential average over the minutes that saw at least one change
 * (a night of idle minutes would teach a shop that nothing is usual), weight 1/32 per
 * minute: about the last half hour of work. */
#define RATE_ALPHA (1.0 / 32)
#define MINUTE 60

struct bucket {
	int64_t epoch;			/* time / width of the bucket's events; -1: empty */
	uint32_t count[DETECT_NKINDS];
	uint16_t first[DETECT_NKINDS];	/* earliest event, seconds after epoch × width */
};

struct detect {
	struct detect_policy pol;
	int64_t width;			/* seconds a bucket */
	int64_t last;			/* latest time seen: time never goes back in here */
	int raised;			/* the alarm was up after the last event */
	int64_t first;			/* detect_first */
	/* the rate: changes in the current minute, and whether it fired */
	int64_t minute;
	uint64_t changes;
	int minute_fired;
	double usual;
	struct bucket b[NBUCKETS];
};

const char *detect_kind_name(enum detect_kind k)
{
	static const char *const names[DETECT_NKINDS] = {
		[DETECT_CANARY] = "canary", [DETECT_FORMAT] = "format",
		[DETECT_RANDOM] = "random", [DETECT_RENAME] = "rename", [DETECT_NOTE] = "note",
		[DETECT_DELETE] = "delete", [DETECT_RATE] = "rate", [DETECT_OVERFLOW] = "overflow",
		[DETECT_MASS] = "mass",
	};
	if ((unsigned)k >= DETECT_NKINDS)
		return "?";
	return names[k];
}

void detect_policy_default(struct detect_policy *p)
{
	memset(p, 0, sizeof *p);
	p->window = 600;
	p->threshold[DETECT_CANARY] = 1;
	p->threshold[DETECT_FORMAT] = 3;
	p->threshold[DETECT_RANDOM] = 3;
	p->threshold[DETECT_RENAME] = 10;
	p->threshold[DETECT_NOTE] = 2;
	p->threshold[DETECT_DELETE] = 50;
	p->threshold[DETECT_RATE] = 1;		/* one minute far over the usual */
	p->threshold[DETECT_OVERFLOW] = 1;
	p->rate_factor = 10;
	p->rate_floor = 30;
	/* A shop rewrites a few files a minute; a software update rewrote 120 in the benign
	 * cases; an attack rewrites every file it reaches (1,900 a second here). */
	p->threshold[DETECT_MASS] = 1;
	p->mass_factor = 50;
	p->mass_floor = 500;
}

int detect_new(const struct detect_policy *policy, struct detect **ret)
{
	struct detect *d = calloc(1, sizeof *d);
	if (!d)
		return -1;
	if (policy)
		d->pol = *policy;
	else
		detect_policy_default(&d->pol);
	if (d->pol.window < 1)
		d->pol.window = 1;
	if (d->pol.window > WINDOW_MAX)
		d->pol.window = WINDOW_MAX;
	if (!(d->pol.rate_factor > 0))		/* also NaN */
		d->pol.rate_factor = 1;
	if (!(d->pol.mass_factor > 0))
		d->pol.mass_factor = 1;
	d->width = (d->pol.window + NBUCKETS - 1) / NBUCKETS;
	for (size_t i = 0; i < NBUCKETS; i++)
		d->b[i].epoch = -1;
	d->minute = -1;
	*ret = d;
	return 0;
}

void detect_free(struct detect *d)
{
	free(d);
}

/* The bucket of time t, emptied when it last held older events. */
static struct bucket *bucket_at(struct detect *d, int64_t t)
{
	int64_t e = t / d->width;
	struct bucket *b = &d->b[e % NBUCKETS];
	if (b->epoch != e) {
		memset(b, 0, sizeof *b);
		b->epoch = e;
	}
	return b;
}

/* Whether bucket b holds events within the window ending at now (its last second is). */
static int in_window(const struct detect *d, const struct bucket *b, int64_t now)
{
	return b->epoch >= 0 && b->epoch * d->width + d->width - 1 > now - d->pol.window &&
		b->epoch * d->width <= now;
}

/* Events of kind k in the window, and the earliest of them (INT64_MAX when none). */
static uint64_t window_count(const struct detect *d, unsigned k, int64_t now, int64_t *first)
{
	uint64_t n = 0;
	int64_t f = INT64_MAX;
	for (size_t i = 0; i < NBUCKETS; i++) {
		const struct bucket *b = &d->b[i];
		if (!in_window(d, b, now) || b->count[k] == 0)
			continue;
		n += b->count[k];
		int64_t t = b->epoch * d->width + b->first[k];
		if (t < f)
			f = t;
	}
	*first = f;
	return n;
}

static unsigned fired(const struct detect *d, int64_t now, int64_t *first)
{
	unsigned bits = 0;
	int64_t f = INT64_MAX;
	for (unsigned k = 0; k < DETECT_NKINDS; k++) {
		int64_t fk;
		uint32_t th = d->pol.threshold[k];
		if (th == 0)		/* a kind switched off */
			continue;
		if (window_count(d, k, now, &fk) >= th) {
			bits |= 1u << k;
			if (fk < f)
				f = fk;
		}
	}
	if (first)
		*first = f;
	return bits;
}

static int alarm(unsigned bits)
{
	return (bits & (1u << DETECT_CANARY | 1u << DETECT_MASS)) || __builtin_popcount(bits) >= 2;
}

unsigned detect_fired(const struct detect *d, int64_t now)
{
	return fired(d, now < d->last ? d->last : now, NULL);
}

int64_t detect_first(const struct detect *d)
{
	return d->first;
}

/* The alarm now; the first event that counted toward it is remembered from the moment it
 * is raised, and moves earlier while it stays up if a kind that fires later started earlier. */
static int decide(struct detect *d, int64_t now)
{
	int64_t f;
	unsigned bits = fired(d, now, &f);
	int up = alarm(bits);
	if (up && (!d->raised || f < d->first))
		d->first = f;
	d->raised = up;
	return up;
}

static int64_t monotonic(struct detect *d, int64_t now)
{
	if (now < 0)
		now = 0;
	if (now < d->last)
		now = d->last;
	d->last = now;
	return now;
}

static void record(struct detect *d, enum detect_kind kind, int64_t now, uint32_t n)
{
	struct bucket *b = bucket_at(d, now);
	uint32_t off = (uint32_t)(now - b->epoch * d->width);
	if (b->count[kind] == 0 || off < b->first[kind])
		b->first[kind] = (uint16_t)off;
	b->count[kind] = UINT32_MAX - b->count[kind] < n ? UINT32_MAX : b->count[kind] + n;
}

int detect_event(struct detect *d, enum detect_kind kind, int64_t now, uint32_t n)
{
	now = monotonic(d, now);
	if ((unsigned)kind < DETECT_NKINDS && n > 0)
		record(d, kind, now, n);
	return decide(d, now);
}

/* Ends the current minute: it teaches the usual rate unless it fired. */
static void close_minute(struct detect *d)
{
	if (d->minute >= 0 && d->changes > 0 && !d->minute_fired)
		d->usual += RATE_ALPHA * ((double)d->changes - d->usual);
	d->changes = 0;
	d->minute_fired = 0;
}

int detect_changed(struct detect *d, int64_t now, uint32_t n)
{
	now = monotonic(d, now);
	int64_t m = now / MINUTE;
	if (m != d->minute) {
		close_minute(d);
		d->minute = m;
	}
	d->changes += n;
	/* minute_fired: bit 0 the rate fired this minute, bit 1 the mass rewrite. */
	if (!(d->minute_fired & 1) && (double)d->changes > d->pol.rate_factor * d->usual &&
		d->changes > d->pol.rate_floor) {
		d->minute_fired |= 1;
		record(d, DETECT_RATE, now, 1);
	}
	if (!(d->minute_fired & 2) && (double)d->changes > d->pol.mass_factor * d->usual &&
		d->changes > d->pol.mass_floor) {
		d->minute_fired |= 2;
		record(d, DETECT_MASS, now, 1);
	}
	return decide(d, now);
}

double detect_usual(const struct detect *d)
{
	return d->usual;
}

void detect_set_usual(struct detect *d, double per_min)
{
	d->usual = per_min >= 0 && per_min < 1e9 ? per_min : 0;
}
