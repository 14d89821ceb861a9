/* error.c: the engine's error record. */
#include "coffre/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cf_error_set(struct cf_error *err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	err->code = code;
	err->sys_errno = 0;
	return code;
}

int cf_error_sys(struct cf_error *err, int code, const char *fmt, ...)
{
	int e = errno;
	if (e == ENOSPC || e == EDQUOT)
		code = CF_ENOSPC;
	if (!err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof err->msg)
		snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(e));
	err->code = code;
	err->sys_errno = e;
	return code;
}

int cf_exit_code(int code)
{
	switch (code) {
	case CF_OK: return CF_EXIT_OK;
	case CF_EUSAGE: return CF_EXIT_USAGE;
	case CF_EPARTIAL: return CF_EXIT_PARTIAL;
	case CF_ECORRUPT: return CF_EXIT_INTEGRITY;
	case CF_ENOREPO: return CF_EXIT_NOREPO;
	case CF_ELOCKED: return CF_EXIT_LOCKED;
	case CF_EKEY: return CF_EXIT_KEY;
	case CF_EUNREACH: return CF_EXIT_UNREACH;
	default: return CF_EXIT_ERROR;
	}
}
