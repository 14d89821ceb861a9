/* page_dl.c: libmicrohttpd loaded when the status page is turned on, not linked: linked, it
 * and GnuTLS, which it needs, would stay mapped in every coffred, page or not (over 10 MiB
 * resident idle instead of about 7). */
#include <dlfcn.h>
#include <stdio.h>

#include <microhttpd.h>

#include "page.h"

/* libmicrohttpd's ABI is 12 since 0.9.x (Debian 10 to 13). */
#define MHD_SONAME "libmicrohttpd.so.12"

struct page_dl page_dl;

static void *sym(void *h, const char *name, char *why, size_t n)
{
	void *p = dlsym(h, name);
	if (!p && !why[0])
		snprintf(why, n, "%s lacks %s", MHD_SONAME, name);
	return p;
}

int page_dl_load(char *why, size_t n)
{
	static int loaded;
	if (loaded)
		return 0;
	why[0] = 0;
	void *h = dlopen(MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		snprintf(why, n, "%s", e ? e : MHD_SONAME);
		return -1;
	}
	struct page_dl f;
	/* POSIX lets a data pointer from dlsym() be converted to a function pointer. */
#define LOAD(field, name) f.field = (__typeof__(f.field))sym(h, name, why, n)
	LOAD(start_daemon, "MHD_start_daemon");
	LOAD(stop_daemon, "MHD_stop_daemon");
	LOAD(get_daemon_info, "MHD_get_daemon_info");
	LOAD(run, "MHD_run");
	LOAD(get_timeout, "MHD_get_timeout");
	LOAD(create_response_from_buffer, "MHD_create_response_from_buffer");
	LOAD(add_response_header, "MHD_add_response_header");
	LOAD(queue_response, "MHD_queue_response");
	LOAD(destroy_response, "MHD_destroy_response");
	LOAD(lookup_connection_value, "MHD_lookup_connection_value");
	LOAD(create_post_processor, "MHD_create_post_processor");
	LOAD(post_process, "MHD_post_process");
	LOAD(destroy_post_processor, "MHD_destroy_post_processor");
#undef LOAD
	if (why[0])
		return -1;	/* the handle stays open: harmless, nothing half-usable is kept */
	page_dl = f;
	loaded = 1;
	return 0;
}
