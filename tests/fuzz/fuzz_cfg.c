/* fuzz_cfg.c: the configuration file, through inih and every check of cfg_ (cfg_parse, the
 * in-memory twin of cfg_load). */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coffre/cfg.h"
#include "coffre/error.h"
#include "fuzz.h"

#define NAME "fuzz.conf"

/* The seeds name these, so that a configuration can pass the checks that look at files. */
#define FIXTURE "/tmp/coffre-fuzz-cfg"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	mkdir(FIXTURE, 0700);
	mkdir(FIXTURE "/data", 0700);
	static const char *const secrets[] = { FIXTURE "/password", FIXTURE "/s3-keys",
		FIXTURE "/sftp-key" };
	for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++) {
		FILE *f = fopen(secrets[i], "w");
		if (f) {
			fputs("secret\n", f);
			fclose(f);
		}
		chmod(secrets[i], 0600);
	}
	return 0;
}

static void check_problems(const char *problems)
{
	FUZZ_CHECK(problems && *problems);
	for (const char *l = problems; *l;) {
		FUZZ_CHECK(strncmp(l, NAME ":", strlen(NAME ":")) == 0);
		const char *nl = strchr(l, '\n');
		FUZZ_CHECK(nl);
		l = nl + 1;
	}
}

static void check_cfg(const struct cfg *c)
{
	FUZZ_CHECK(c->npaths > 0 && c->repository && c->password_file);
	for (size_t i = 0; i < c->npaths; i++) {
		const char *p = c->paths[i];
		size_t n = strlen(p);
		FUZZ_CHECK(p[0] == '/' && !strstr(p, "//") && (n == 1 || p[n - 1] != '/'));
	}
	for (size_t i = 0; i < c->nexcludes; i++)
		FUZZ_CHECK(c->excludes[i][0]);
	FUZZ_CHECK(c->socket && c->socket[0] == '/' && c->socket_group && c->state_dir);
	FUZZ_CHECK(!forget_policy_empty(&c->keep));
	FUZZ_CHECK(c->ndests <= 32 && (!c->clear_spool || c->ndests));
	for (size_t i = 0; i < c->ndests; i++) {
		const struct cfg_dest *d = &c->dests[i];
		FUZZ_CHECK(d->name && d->url && dst_url_kind(d->url));
		FUZZ_CHECK(cfg_find_dest(c, d->name) != NULL && cfg_find_dest(c, d->url) == d);
		struct dst_options o;
		cfg_dest_options(d, &o);
		FUZZ_CHECK(o.upload_limit == d->upload_limit);
	}
}

/* The longest line of the text, without its '\n'. */
static size_t longest_line(const uint8_t *data, size_t size)
{
	size_t max = 0, n = 0;
	for (size_t i = 0; i < size; i++) {
		if (data[i] != '\n') {
			n++;
			continue;
		}
		max = n > max ? n : max;
		n = 0;
	}
	return n > max ? n : max;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg *c = NULL;
	char *problems = NULL;
	struct cf_error err = { 0 };
	int rc = cfg_parse((const char *)data, size, NAME, &c, &problems, &err);
	/* inih would cut a longer line in two: such a file is refused, for that reason. */
	if (longest_line(data, size) > 199 && rc != CF_ENOMEM)
		FUZZ_CHECK(rc == CF_EUSAGE && strstr(problems, ": line too long ("));
	if (rc == 0) {
		FUZZ_CHECK(c && !problems);
		check_cfg(c);
	} else if (rc == CF_EUSAGE) {
		FUZZ_CHECK(!c);
		check_problems(problems);
	} else {
		FUZZ_CHECK(rc == CF_ENOMEM && !c && !problems);
	}
	cfg_free(c);
	free(problems);
	return 0;
}
