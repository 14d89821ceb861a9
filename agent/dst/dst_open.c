/* dst_open.c: opening a destination by its URL: the kinds of URL and their backends. */
#include "coffre/dst.h"

#include <string.h>

#include "coffre/error.h"
#include "dst/dst_internal.h"

static int open_kind(const char *url, const struct dst_options *opt, struct dst **ret,
	struct cf_error *err)
{
	static const struct dst_options none = { 0 };
	if (!opt)
		opt = &none;
	if (strncmp(url, "s3://", 5) == 0)
		return dst_s3_open(url, opt, ret, err);
	/* Only a versioned bucket keeps what a destination held at a past date. */
	if (opt->as_of_ms > 0)
		return cf_error_set(err, CF_EUSAGE, "'%s': a view as of a date needs an S3 "
			"repository (a versioned bucket keeps the old versions)", url);
	if (strncmp(url, "sftp://", 7) == 0)
		return dst_sftp_open(url, opt, ret, err);
	if (strncmp(url, "usb:", 4) == 0)
		return dst_usb_open(url + 4, opt, ret, err);
	if (strncmp(url, "file://", 7) == 0)
		return dst_local_open(url + 7, ret, err);
	if (strstr(url, "://"))
		return cf_error_set(err, CF_EUSAGE, "unknown kind of destination '%s'", url);
	return dst_local_open(url, ret, err);
}

int dst_open(const char *url, const struct dst_options *opt, struct dst **ret,
	struct cf_error *err)
{
	struct dst *d = NULL;
	int rc = open_kind(url, opt, &d, err);
	return rc ? rc : dst_meter_attach(d, NULL, ret, err);
}

const char *dst_url_kind(const char *url)
{
	if (strncmp(url, "s3://", 5) == 0)
		return "s3";
	if (strncmp(url, "sftp://", 7) == 0)
		return "sftp";
	if (strncmp(url, "usb:", 4) == 0)
		return "usb";
	if (strncmp(url, "file://", 7) == 0 || !strstr(url, "://"))
		return "local";
	return NULL;
}
