/* dst_remote_stub.c: placeholders until the S3, SFTP and USB backends land; each says
 * plainly that the kind is not available in this build. */
#include "coffre/error.h"
#include "dst_internal.h"

int dst_s3_open(const char *url, const struct dst_options *opt, struct dst **ret,
	struct cf_error *err)
{
	(void)opt;
	(void)ret;
	return cf_error_set(err, CF_EUSAGE, "'%s': S3 destinations are not available yet", url);
}

int dst_sftp_open(const char *url, const struct dst_options *opt, struct dst **ret,
	struct cf_error *err)
{
	(void)opt;
	(void)ret;
	return cf_error_set(err, CF_EUSAGE, "'%s': SFTP destinations are not available yet", url);
}

int dst_usb_open(const char *spec, const struct dst_options *opt, struct dst **ret,
	struct cf_error *err)
{
	(void)opt;
	(void)ret;
	return cf_error_set(err, CF_EUSAGE, "usb:%s: USB drives by label are not available yet",
		spec);
}
