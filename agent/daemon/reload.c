/* reload.c: the configuration: SIGHUP reloads it; an invalid file keeps the current one, and
 * a new one waits for the running backup to end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/cfg.h"
#include "coffre/ctl.h"
#include "coffre/error.h"
#include "coffre/sched.h"
#include "coffred.h"

/* Logs what cfg_load found wrong, a line each. */
void reload_print_problems(const char *problems)
{
	for (const char *p = problems; p && *p;) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);
		logf_("%.*s", len, p);
		p += len + (nl ? 1 : 0);
	}
}

/* Root and the members of socket-group may use the control socket. */
void reload_open_socket(struct daemon *d)
{
	struct cf_error err = { 0 };
	const char *g = d->cfg->socket_group;
	int rc = ctl_set_group(d->cfg->socket, g, &err);
	if (rc == 0)
		logf_("the control socket is open to root and the group '%s' (mode 0660)", g);
	else if (rc == CTL_NO_GROUP)
		logf_("warning: there is no group '%s': the control socket '%s' is for root only "
			"(mode 0600); create the group (groupadd --system %s) and reload coffred "
			"to let its members use coffre status", g, d->cfg->socket, g);
	else if (rc == CTL_GROUP_NO_SEARCH)
		logf_("warning: the control socket is given to the group '%s', but its folder does "
			"not let that group through (make the folder searchable, e.g. mode 0755)", g);
	else
		logf_("warning: %s; the control socket stays root only", err.msg);
}

/* One state per destination of ${c}, carried over by name (a destination whose URL
 * changed starts afresh). NULL when out of memory. */
struct state_dest *reload_align_dests(const struct state_dest *old, size_t nold,
	const struct cfg *c)
{
	struct state_dest *v = calloc(c->ndests + 1, sizeof *v);
	for (size_t i = 0; v && i < c->ndests; i++) {
		for (size_t k = 0; k < nold; k++)
			if (strcmp(old[k].name, c->dests[i].name) == 0 &&
			    strcmp(old[k].url, c->dests[i].url) == 0)
				v[i] = old[k];
		snprintf(v[i].name, sizeof v[i].name, "%s", c->dests[i].name);
		snprintf(v[i].url, sizeof v[i].url, "%s", c->dests[i].url);
	}
	return v;
}

/* reload_apply(d, c): make ${c} (owned) the configuration, or say why not and free it. */
void reload_apply(struct daemon *d, struct cfg *c)
{
	if (d->cfg && strcmp(d->cfg->socket, c->socket) != 0)
		logf_("warning: the control socket moves only at restart (still '%s')",
			d->cfg->socket);
	if (d->cfg && d->cfg->status_page != c->status_page)
		logf_("warning: the status page changes only at restart (still %s)",
			d->page ? "on" : "off");
	if (roots_build_watch(d, c)) {
		logf_("keeping the previous configuration");
		cfg_free(c);
		return;
	}
	struct state_dest *ds = reload_align_dests(d->dests, d->cfg->ndests, c);
	if (!ds) {
		logf_("error: out of memory; keeping the previous configuration");
		cfg_free(c);
		return;
	}
	free(d->dests);
	d->dests = ds;
	free(c->socket);
	c->socket = strdup(d->cfg->socket);
	cfg_free(d->cfg);
	d->cfg = c;
	reload_open_socket(d);	/* the group may be new, or created since */
	roots_check(d);
	if (c->schedule.kind == SCHED_AFTER_CHANGE)
		d->last_change = time(NULL);	/* the new folders get their first backup */
	logf_("configuration reloaded from '%s'", d->cfg_file);
	d->config_refused_at = 0;	/* the configuration on disk is accepted again */
	d->config_problem[0] = 0;
	alerts_start(d);	/* [alert] may be new, or its durations changed */
	fedstatus_start(d);	/* [federation] may be new */
}

/* reload(d): on SIGHUP. */
void reload(struct daemon *d)
{
	struct cfg *c = NULL;
	char *problems = NULL;
	struct cf_error err = { 0 };
	logf_("reloading the configuration '%s'", d->cfg_file);
	if (cfg_load(d->cfg_file, &c, &problems, &err)) {
		reload_print_problems(problems);
		logf_("error: %s: keeping the current configuration", err.msg);
		/* Its first problem, in the alert: what to mend, without the whole list. */
		size_t first = problems ? strcspn(problems, "\n") : 0;
		char why[1024];
		snprintf(why, sizeof why, "%s%s%.*s", err.msg, first ? ": " : "", (int)first,
			problems ? problems : "");
		alerts_config_refused(d, why);
		free(problems);
		return;
	}
	if (d->running) {
		cfg_free(d->pending_cfg);
		d->pending_cfg = c;
		logf_("the new configuration applies when the running backup ends");
		return;
	}
	reload_apply(d, c);
	job_rearm(d);
}
