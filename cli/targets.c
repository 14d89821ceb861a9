/* targets.c: the destinations a command works on (push, destinations, drill): those given
 * with --to, by URL or by the name of a [destination NAME], else those of coffred's
 * configuration. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "coffre/cfg.h"
#include "coffre/dst.h"

void cli_targets_free(struct targets *t)
{
	free(t->url);
	free(t->opt);
	free(t->keep);
	free(t->dest);
	cfg_free(t->cfg);
	memset(t, 0, sizeof *t);
}

int cli_repo_config(const char *file, int required, struct cfg **ret)
{
	struct cfg *c = NULL;
	char *problems = NULL;
	struct cf_error err = { 0 };
	*ret = NULL;
	int rc = cfg_load(file ? file : CFG_DEFAULT_PATH, &c, &problems, &err);
	if (rc) {
		if (!file && rc == CF_ENOENT)
			return 0;	/* no daemon here: --to is the only source */
		if (problems)
			fputs(problems, stderr);
		free(problems);
		return required || file ? cli_error(CF_EXIT_ERROR, "%s", err.msg) : 0;
	}
	if (g.repo && strcmp(g.repo, c->repository) != 0) {
		if (file || required) {
			int code = cli_error(CF_EXIT_USAGE, _("the configuration '%s' is for the "
				"repository '%s', not '%s'"), c->file, c->repository, g.repo);
			cfg_free(c);
			return code;
		}
		cfg_free(c);
		return 0;
	}
	if (!g.repo)
		g.repo = c->repository;
	if (!g.password_file && !getenv("COFFRE_PASSWORD_FILE") && !getenv("COFFRE_PASSWORD"))
		g.password_file = c->password_file;
	*ret = c;
	return 0;
}

static void add_target(struct targets *t, const char *url, const struct dst_options *o,
	const struct cfg_dest *cd)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->url[i], url) == 0)
			return;
	t->url[t->n] = url;
	t->keep[t->n] = cd ? &cd->keep : NULL;
	t->dest[t->n] = cd;
	t->opt[t->n++] = *o;
}

int cli_targets(struct targets *t, const char *const *tos, size_t nto, const char *config,
	int flags)
{
	int rc, all_configured = flags & CLI_TARGETS_ALL;
	memset(t, 0, sizeof *t);
	/* The configuration is read when it gives the destinations, when all of them are
	 * wanted besides those given, or when the command wants it anyway. */
	if ((config || nto == 0 || (flags & (CLI_TARGETS_ALL | CLI_TARGETS_CONFIG))) &&
	    (rc = cli_repo_config(config, nto == 0, &t->cfg)))
		return rc;
	size_t max = nto + (t->cfg ? t->cfg->ndests : 0);
	t->url = calloc(max + 1, sizeof *t->url);
	t->opt = calloc(max + 1, sizeof *t->opt);
	t->keep = calloc(max + 1, sizeof *t->keep);
	t->dest = calloc(max + 1, sizeof *t->dest);
	if (!t->url || !t->opt || !t->keep || !t->dest)
		return cli_error(CF_EXIT_ERROR, "%s", _("out of memory"));
	struct dst_options o;
	if ((rc = cli_dst_options(&o)))
		return rc;
	for (size_t i = 0; i < nto; i++) {
		/* A configured destination named or given by its URL keeps its settings. */
		const struct cfg_dest *cd = t->cfg ? cfg_find_dest(t->cfg, tos[i]) : NULL;
		struct dst_options co;
		if (cd)
			cfg_dest_options(cd, &co);
		add_target(t, cd ? cd->url : tos[i], cd ? &co : &o, cd);
	}
	for (size_t i = 0; t->cfg && (nto == 0 || all_configured) && i < t->cfg->ndests; i++) {
		struct dst_options co;
		cfg_dest_options(&t->cfg->dests[i], &co);
		add_target(t, t->cfg->dests[i].url, &co, &t->cfg->dests[i]);
	}
	if (t->n == 0)
		return cli_error(CF_EXIT_USAGE, "%s", _("no destination: give --to URL, or add "
			"[destination NAME] sections to the configuration"));
	return 0;
}
