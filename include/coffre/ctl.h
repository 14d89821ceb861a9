/* ctl.h: the daemon's control socket (a Unix stream socket, one request line, one reply). */
#ifndef COFFRE_CTL_H
#define COFFRE_CTL_H

#include <stddef.h>

struct cf_error;

/* Requests. */
#define CTL_STATUS "status"	/* reply: the status JSON */
#define CTL_BACKUP "backup"	/* reply: {"ok":true} or {"ok":false,"error":"..."} */

/* ctl_listen(path, err): create the directory if needed, replace a stale socket, listen
 * with mode 0660 (root and the socket's group). Returns the listening fd or a CF_E* code. */
int ctl_listen(const char *path, struct cf_error *err);

/* ctl_read_request(fd, buf, n): read one request line (at most ${n}-1 bytes, 1 s timeout)
 * from an accepted connection into ${buf}, without its newline. Returns 0 or -1. */
int ctl_read_request(int fd, char *buf, size_t n);

/* ctl_reply(fd, text): write ${text} and a newline. Returns 0 or -1. */
int ctl_reply(int fd, const char *text);

/* ctl_request(path, req, ret, err): connect to ${path}, send ${req}, read the whole reply
 * into ${ret} (malloc'd). Returns 0, CF_EUNREACH (no daemon there) or CF_EIO. */
int ctl_request(const char *path, const char *req, char **ret, struct cf_error *err);

#endif
