/* cmd_pin.c: coffre pin, unpin: keep a snapshot whatever retention says. */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "coffre/pin.h"
#include "coffre/snap.h"

static const char pin_usage[] =
	"usage: coffre pin SNAPSHOT|latest [--reason TEXT]\n"
	"Keeps the snapshot on the spool and on every destination (push carries the pin) until\n"
	"'coffre unpin'. forget and prune never remove a pinned snapshot.\n";

static const char unpin_usage[] = "usage: coffre unpin SNAPSHOT\n"
				  "Removes every pin of the snapshot; retention then applies to it.\n";

/* Opens the repository and finds ${spec}: 0, or the exit code already reported. */
static int open_snapshot(const char *spec, struct repo **r, struct snap ***list, size_t *n,
	struct snap **s)
{
	int rc = cli_open_repo(r);
	return rc ? rc : cli_snapshot(*r, spec, list, n, s);
}

int cmd_pin(int argc, char **argv)
{
	if (cli_help(argc, argv, pin_usage))
		return 0;
	static const struct option opts[] = { { "reason", required_argument, NULL, 'r' }, { 0 } };
	const char *reason = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'r')
			return cli_usage(pin_usage);
		reason = optarg;
	}
	if (optind + 1 != argc)
		return cli_usage(pin_usage);
	struct repo *r = NULL;
	struct snap **list = NULL, *s = NULL;
	size_t n = 0;
	int rc = open_snapshot(argv[optind], &r, &list, &n, &s);
	if (rc)
		return rc;
	struct cf_error err = { 0 };
	if (pin_add(r, s->id, reason, &err))
		rc = cli_fail(&err);
	else if (!g.quiet)
		printf(_("snapshot %.8s pinned\n"), s->idhex);
	snap_list_free(list, n);
	return rc;
}

int cmd_unpin(int argc, char **argv)
{
	if (cli_help(argc, argv, unpin_usage))
		return 0;
	if (argc != 2)
		return cli_usage(unpin_usage);
	struct repo *r = NULL;
	struct snap **list = NULL, *s = NULL;
	size_t n = 0;
	int rc = open_snapshot(argv[1], &r, &list, &n, &s);
	if (rc)
		return rc;
	struct cf_error err = { 0 };
	size_t removed = 0;
	if (pin_remove(r, s->id, &removed, &err))
		rc = cli_fail(&err);
	else if (removed == 0)
		rc = cli_error(CF_EXIT_ERROR, _("snapshot %.8s is not pinned"), s->idhex);
	else if (!g.quiet)
		printf(_("snapshot %.8s unpinned\n"), s->idhex);
	snap_list_free(list, n);
	return rc;
}
