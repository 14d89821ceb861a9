/* alertq_tool.c: the alert queue driven from a test, as coffred will drive it.
 *   alertq_tool push CONF COND STATE   add an event (now) to STATE_DIR/alerts; prints its id
 *   alertq_tool deliver CONF [+SECS]   one delivery round at now (+SECS: a later clock);
 *                                      prints "delivered N failed N pending N bad N
 *                                      latency S" and the last error */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coffre/alert.h"
#include "coffre/alertq.h"
#include "coffre/cfg.h"
#include "coffre/error.h"

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	struct cfg *c = NULL;
	char *problems = NULL;
	struct cf_error err = { 0 };
	if (cfg_load(argv[2], &c, &problems, &err)) {
		fprintf(stderr, "%s%s\n", problems ? problems : "", err.msg);
		return 1;
	}
	char dir[4200];
	snprintf(dir, sizeof dir, "%s/alerts", c->state_dir);
	struct alertq *q = NULL;
	int rc = alertq_open(dir, 0, &q, &err);
	int64_t now = (int64_t)time(NULL);
	if (!rc && strcmp(argv[1], "push") == 0 && argc == 5) {
		struct alert_event ev;
		enum alert_cond cond = alert_cond_parse(argv[3]);
		enum alert_state st = alert_state_parse(argv[4]);
		if (cond == _ALERT_COND_INVALID || st == _ALERT_STATE_INVALID)
			return 2;
		alert_event_init(&ev, cond, st, now, now);
		size_t dropped = 0;
		rc = alertq_push(q, &ev, now, &dropped, &err);
		if (!rc)
			printf("%s dropped %zu\n", ev.id, dropped);
	} else if (!rc && strcmp(argv[1], "deliver") == 0) {
		struct alertq_report r;
		if (argc > 3)
			now += atol(argv[3]);
		rc = alert_deliver(&c->alert, q, now, &r, &err);
		if (!rc)
			printf("delivered %zu failed %zu pending %zu bad %zu latency %lld\n%s\n",
				r.delivered, r.failed, r.pending, r.bad, (long long)r.latency_max,
				r.last_error);
	} else if (!rc) {
		rc = CF_EUSAGE;
		snprintf(err.msg, sizeof err.msg, "usage: alertq_tool push|deliver CONF ...");
	}
	if (rc)
		fprintf(stderr, "alertq_tool: %s\n", err.msg);
	alertq_free(q);
	cfg_free(c);
	return rc ? 1 : 0;
}
