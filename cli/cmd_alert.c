/* cmd_alert.c: coffre alert test: a test message through every configured channel, now. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "coffre/alert.h"
#include "coffre/cfg.h"

static const char alert_usage[] =
	"usage: coffre alert test [--config FILE]\n"
	"  send a test message through every channel of [alert] (mail, webhook) now,\n"
	"  and say for each: delivered, or the exact error; exit 1 if any failed\n";

int cmd_alert(int argc, char **argv)
{
	if (cli_help(argc, argv, alert_usage))
		return 0;
	if (argc < 2 || strcmp(argv[1], "test") != 0)
		return cli_usage(alert_usage);
	const char *file = NULL;
	struct cfg *cf = NULL;
	int rc = cli_load_config(argc - 1, argv + 1, alert_usage, &file, &cf);
	if (rc)
		return rc;
	const struct cfg_alert *a = &cf->alert;
	if (!cfg_alert_mail(a) && !cfg_alert_webhook(a)) {
		cfg_free(cf);
		return cli_error(CF_EXIT_ERROR, _("no alert channel in '%s' (set smtp-url and "
			"mail-to, or webhook-url, in [alert])"), file);
	}
	time_t now = time(NULL);
	struct alert_event ev;
	alert_event_init(&ev, ALERT_TEST, ALERT_START, now, now);
	int failed = 0;
	if (cfg_alert_mail(a)) {
		struct cf_error e = { 0 };
		if (alert_send_mail(a, &ev, &e) == 0) {
			printf(_("mail to %zu recipient(s) through %s: delivered\n"), a->nmail_to,
				a->smtp_url);
		} else {
			printf(_("mail: FAILED: %s\n"), e.msg);
			failed = 1;
		}
	}
	if (cfg_alert_webhook(a)) {
		struct cf_error e = { 0 };
		if (alert_send_webhook(a, &ev, &e) == 0) {
			printf(_("webhook %s: delivered\n"), a->webhook_url);
		} else {
			printf(_("webhook: FAILED: %s\n"), e.msg);
			failed = 1;
		}
	}
	cfg_free(cf);
	rc = cli_finish_stdout();
	return rc ? rc : failed ? CF_EXIT_ERROR : 0;
}
