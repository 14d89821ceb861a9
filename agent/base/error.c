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
	case CF_EDENIED: return CF_EXIT_KEY;
	case CF_EPASSWORD: return CF_EXIT_KEY;
	case CF_EUNREACH: return CF_EXIT_UNREACH;
	default: return CF_EXIT_ERROR;
	}
}

/* What each code means: one table, in the order of enum cf_code. */
static const struct {
	int code;
	const char *str;
} code_str[] = {
	{ CF_OK, "success" },
	{ CF_EIO, "input/output or system error" },
	{ CF_EUSAGE, "bad argument" },
	{ CF_EPARTIAL, "done, but some files could not be read" },
	{ CF_ECORRUPT, "damaged or tampered data" },
	{ CF_ENOREPO, "no repository" },
	{ CF_ELOCKED, "repository locked by another process" },
	{ CF_EKEY, "credentials refused" },
	{ CF_EUNREACH, "destination unreachable" },
	{ CF_ENOSPC, "no space left on the target" },
	{ CF_ENOENT, "not found" },
	{ CF_ENOMEM, "out of memory" },
	{ CF_EPASSWORD, "wrong password or key" },
	{ CF_EPROTECTED, "protected by Object Lock" },
	{ CF_ECANCELED, "stopped on request" },
	{ CF_EDENIED, "deletion refused with these keys" },
};

const char *cf_code_str(int code)
{
	for (size_t i = 0; i < sizeof code_str / sizeof *code_str; i++)
		if (code_str[i].code == code)
			return code_str[i].str;
	return "unknown error";
}
