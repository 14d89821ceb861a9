/* alert_deliver.c: one delivery round over the queue (alertq.h): each due entry through each
 * channel, the queue updated as they answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/alert.h"
#include "coffre/alertq.h"
#include "coffre/cfg.h"
#include "coffre/error.h"

int alert_deliver(const struct cfg_alert *a, struct alertq *q, int64_t now,
	struct alertq_report *ret, struct cf_error *err)
{
	struct alertq_entry *v = NULL;
	size_t n = 0;
	memset(ret, 0, sizeof *ret);
	int rc = alertq_list(q, &v, &n, &ret->bad, err);
	if (rc)
		return rc;
	unsigned want = (cfg_alert_mail(a) ? ALERTQ_MAIL : 0) |
		(cfg_alert_webhook(a) ? ALERTQ_WEBHOOK : 0);
	unsigned down = 0;	/* channels that failed in this round */
	char down_error[2][512] = { "", "" };
	for (size_t i = 0; i < n; i++) {
		struct alertq_entry *e = &v[i];
		if (e->next_try > now) {
			ret->pending++;
			if (!ret->next_due || e->next_try < ret->next_due)
				ret->next_due = e->next_try;
			continue;
		}
		const char *error = NULL;
		for (unsigned ch = 0; ch < 2; ch++) {
			unsigned bit = ch == 0 ? ALERTQ_MAIL : ALERTQ_WEBHOOK;
			if (!(want & bit) || (e->done & bit))
				continue;
			if (down & bit) {
				error = down_error[ch];
				continue;
			}
			struct cf_error e2 = { 0 };
			int r = bit == ALERTQ_MAIL ? alert_send_mail(a, &e->ev, &e2) :
				alert_send_webhook(a, &e->ev, &e2);
			if (r == 0) {
				e->done |= bit;
				continue;
			}
			down |= bit;
			snprintf(down_error[ch], sizeof down_error[ch], "%s", e2.msg);
			snprintf(ret->last_error, sizeof ret->last_error, "%s", e2.msg);
			error = down_error[ch];
		}
		if ((e->done & want) == want) {
			if ((rc = alertq_remove(q, e->name, err)))
				break;
			ret->delivered++;
			if (now - e->ev.at > ret->latency_max)
				ret->latency_max = now - e->ev.at;
			continue;
		}
		alertq_failed(e, now, error);
		ret->failed++;
		ret->pending++;
		if (!ret->next_due || e->next_try < ret->next_due)
			ret->next_due = e->next_try;
		rc = alertq_update(q, e, err);
		if (rc == CF_ENOENT)	/* dropped meanwhile to make room */
			rc = 0;
		if (rc)
			break;
	}
	free(v);
	return rc;
}
