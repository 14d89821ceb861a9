/* drills.c: coffred's restore drills (drill.h), one destination after the other in a run of
 * their own (job.c, kind JOB_DRILL), so that a backup asked for meanwhile waits for them
 * rather than for a slow download.
 *
 * When one is due: `drill` after the last drill of that destination (weekly by default);
 * the first one an hour after its first complete push (a new install gets its proof the
 * same day); one that could not run (the destination away, the drive unplugged) is tried
 * again after the push retry delay. A USB drive is drilled only while its last push
 * reached it: it is plugged in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coffre/cfg.h"
#include "coffre/drill.h"
#include "coffre/dst.h"
#include "coffre/error.h"
#include "coffre/repo.h"
#include "coffred.h"

#define DRILL_FIRST_DELAY 3600
/* A database larger than the budget is restored and checked whole by a full drill, at most
 * this often (it would otherwise only ever be proven by hand). */
#define DRILL_FULL_EVERY (30 * 86400)

time_t drills_due(const struct cfg_dest *cd, const struct state_dest *ds, long retry)
{
	if (cd->drill_every <= 0 || !ds->last_complete)
		return 0;
	if (strncmp(cd->url, "usb:", 4) == 0 && strcmp(ds->result, "complete") != 0)
		return 0;
	if (!ds->drill_time) {
		long first = cd->drill_every < DRILL_FIRST_DELAY ? cd->drill_every :
			DRILL_FIRST_DELAY;
		return ds->last_complete + first;
	}
	if (strcmp(ds->drill_result, "error") == 0)
		return ds->drill_time + (retry < cd->drill_every ? retry : cd->drill_every);
	return ds->drill_time + cd->drill_every;
}

/* The run's cancel flag is an atomic_int; the drill reads a plain one: SIGTERM in the run's
 * process sets both (child.c). */
volatile int drill_cancel;

/* The report, as the daemon keeps it. */
static void note(struct state_dest *ds, const struct drill_report *r, int rc,
	const struct cf_error *err)
{
	ds->drill_time = time(NULL);
	ds->drill_error[0] = 0;
	if (!r || rc) {
		snprintf(ds->drill_result, sizeof ds->drill_result, "error");
		snprintf(ds->drill_error, sizeof ds->drill_error, "%.299s", err->msg);
		return;
	}
	snprintf(ds->drill_result, sizeof ds->drill_result, "%s", r->ok ? "ok" : "failed");
	if (r->full)
		ds->drill_full_time = ds->drill_time;
	else
		ds->drill_db_too_big = r->databases_too_big;
	if (r->ok)
		ds->drill_last_ok = ds->drill_time;
	ds->drill_files = r->files;
	ds->drill_bytes = r->bytes;
	ds->drill_failures = r->nfailures;
	ds->drill_seconds = r->seconds;
	ds->drill_throughput = r->throughput;
	ds->drill_estimate = r->estimate_full_restore_seconds;
	if (r->nlisted) {
		const struct drill_failure *f = &r->failures[0];
		snprintf(ds->drill_error, sizeof ds->drill_error, "%s%.8s%s%s%s%s",
			f->snapshot[0] ? "snapshot " : "", f->snapshot, f->snapshot[0] ? ": " : "",
			f->path && f->path[0] ? f->path : "", f->path && f->path[0] ? ": " : "",
			f->msg ? f->msg : "");
	}
}

void drills_run(struct job *j, const struct repo_cred *cred)
{
	const struct cfg *c = j->cfg;
	for (size_t i = 0; j->drill && i < j->ndests && !atomic_load(j->cancel); i++) {
		const struct cfg_dest *cd = &c->dests[i];
		struct state_dest *ds = &j->dests[i];
		if (!j->drill[i])
			continue;
		struct dst_options dopt;
		cfg_dest_options(cd, &dopt);
		int full = ds->drill_db_too_big &&
			(!ds->drill_full_time || time(NULL) - ds->drill_full_time >= DRILL_FULL_EVERY);
		struct drill_opts o = { .url = cd->url, .dst_opt = &dopt, .name = cd->name,
			.cred = cred, .state_dir = c->state_dir, .budget = cd->drill_budget,
			.full = full, .cancel = &drill_cancel, .dbs = c->dbs, .ndbs = c->ndbs };
		struct drill_report *r = NULL;
		struct cf_error err = { 0 };
		drill_cancel = atomic_load(j->cancel);
		logf_("restore drill of '%s' (%s) started%s", cd->name, cd->url, full ?
			", in full: a database there is larger than the budget (once a month)" : "");
		int rc = drill_run(&o, &r, &err);
		if (rc == CF_ECANCELED) {
			drill_report_free(r);
			break;
		}
		note(ds, r, rc, &err);
		char dumps[96] = "";
		if (rc == 0 && r->ndumps)
			snprintf(dumps, sizeof dumps, " (database dumps: %llu loaded, %llu checked "
				"by their trailer)", (unsigned long long)r->dumps_loaded,
				(unsigned long long)r->dumps_trailer);
		if (rc)
			logf_("warning: restore drill of '%s': could not run: %s", cd->name, err.msg);
		else
			logf_("%srestore drill of '%s': %s: %llu files (%llu bytes) restored and "
				"checked in %.1f s%s, %llu problems%s%s", r->ok ? "" : "warning: ",
				cd->name, r->ok ? "ok" : "FAILED", (unsigned long long)r->files,
				(unsigned long long)r->bytes, r->seconds, dumps,
				(unsigned long long)r->nfailures, ds->drill_error[0] ? ": " : "",
				ds->drill_error);
		drill_report_free(r);
	}
}

time_t drills_next(struct daemon *d, uint8_t *now_due)
{
	time_t best = 0, now = time(NULL);
	for (size_t i = 0; i < d->cfg->ndests; i++) {
		time_t t = drills_due(&d->cfg->dests[i], &d->dests[i], d->push_retry);
		if (now_due)
			now_due[i] = t && t <= now + 1;
		if (t && (!best || t < best))
			best = t;
	}
	return best;
}
