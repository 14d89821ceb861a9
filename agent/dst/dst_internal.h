/* dst_internal.h: what the destination backends share. */
#ifndef COFFRE_DST_INTERNAL_H
#define COFFRE_DST_INTERNAL_H

#include "coffre/dst.h"

/* Backend constructors, called by dst_open with the URL's scheme stripped or not as each
 * documents. */
int dst_local_open(const char *root, struct dst **ret, struct cf_error *err);
int dst_s3_open(const char *url, const struct dst_options *opt, struct dst **ret,
	struct cf_error *err);
int dst_sftp_open(const char *url, const struct dst_options *opt, struct dst **ret,
	struct cf_error *err);
/* dst_usb_open(spec, opt, ret, err): find the drive by "LABEL" or "UUID=..." (libblkid),
 * mount it if needed, and open the coffre directory on it as a local destination. */
int dst_usb_open(const char *spec, const struct dst_options *opt, struct dst **ret,
	struct cf_error *err);

#endif
