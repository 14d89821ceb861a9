/* dl_curl.h: libcurl, loaded on first use with dlopen() rather than linked. Linked, it
 * brings some thirty libraries (TLS, SSH, Kerberos, LDAP, IDN...) into every process; their
 * start-up pages were most of the idle daemon's memory, though only S3 and SFTP need them.
 * The backends include this header instead of <curl/curl.h>, call dl_curl_load() before
 * anything else, and then call libcurl by its usual names, which resolve to the loaded
 * library through dl_curl (systemd loads its optional libraries the same way). */
#ifndef COFFRE_DL_CURL_H
#define COFFRE_DL_CURL_H

#include <curl/curl.h>

struct cf_error;

struct dl_curl {
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_reset)(CURL *);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
};

/* Valid once dl_curl_load() returned 0. */
extern struct dl_curl dl_curl;

/* dl_curl_load(err): load libcurl and run curl_global_init(), once per process (thread
 * safe). Returns 0, or CF_EIO when libcurl cannot be loaded (the message names it). */
int dl_curl_load(struct cf_error *err);

/* <curl/curl.h> may define these two as type-checking macros: the loaded functions win. */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_easy_init (dl_curl.easy_init)
#define curl_easy_setopt (dl_curl.easy_setopt)
#define curl_easy_perform (dl_curl.easy_perform)
#define curl_easy_getinfo (dl_curl.easy_getinfo)
#define curl_easy_reset (dl_curl.easy_reset)
#define curl_easy_cleanup (dl_curl.easy_cleanup)
#define curl_easy_strerror (dl_curl.easy_strerror)
#define curl_slist_append (dl_curl.slist_append)
#define curl_slist_free_all (dl_curl.slist_free_all)

#endif
