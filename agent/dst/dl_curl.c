/* dl_curl.c: libcurl loaded on first use (see dl_curl.h). */
#include "dst/dl_curl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "coffre/error.h"

/* libcurl's ABI has been 4 since curl 7.16 (2006), curl 8 included. */
#define LIBCURL_SONAME "libcurl.so.4"

struct dl_curl dl_curl;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[300];

static void *sym(void *h, const char *name)
{
	void *p = dlsym(h, name);
	if (!p && !load_error[0])
		snprintf(load_error, sizeof load_error, "%s lacks %s", LIBCURL_SONAME, name);
	return p;
}

static void load(void)
{
	void *h = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		snprintf(load_error, sizeof load_error, "%s", e ? e : LIBCURL_SONAME);
		return;
	}
	struct dl_curl c;
	CURLcode (*global_init)(long) = (CURLcode (*)(long))sym(h, "curl_global_init");
	/* POSIX lets a data pointer from dlsym() be converted to a function pointer. */
	c.easy_init = (CURL *(*)(void))sym(h, "curl_easy_init");
	c.easy_setopt = (CURLcode (*)(CURL *, CURLoption, ...))sym(h, "curl_easy_setopt");
	c.easy_perform = (CURLcode (*)(CURL *))sym(h, "curl_easy_perform");
	c.easy_getinfo = (CURLcode (*)(CURL *, CURLINFO, ...))sym(h, "curl_easy_getinfo");
	c.easy_reset = (void (*)(CURL *))sym(h, "curl_easy_reset");
	c.easy_cleanup = (void (*)(CURL *))sym(h, "curl_easy_cleanup");
	c.easy_strerror = (const char *(*)(CURLcode))sym(h, "curl_easy_strerror");
	c.slist_append = (struct curl_slist * (*)(struct curl_slist *, const char *))
		sym(h, "curl_slist_append");
	c.slist_free_all = (void (*)(struct curl_slist *))sym(h, "curl_slist_free_all");
	if (load_error[0])
		return;	/* the handle stays open: harmless, and nothing half-usable is kept */
	if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(load_error, sizeof load_error, "curl_global_init failed");
		return;
	}
	dl_curl = c;
}

int dl_curl_load(struct cf_error *err)
{
	pthread_once(&once, load);
	if (load_error[0])
		return cf_error_set(err, CF_EIO, "cannot load libcurl, needed for S3 and SFTP (%s); "
			"install it (Debian: apt-get install libcurl4)", load_error);
	return 0;
}
