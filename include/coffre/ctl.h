/* ctl.h: the daemon's control socket (a Unix stream socket, one request line, one reply). */
#ifndef COFFRE_CTL_H
#define COFFRE_CTL_H

#include <stddef.h>

struct cf_error;

/* Requests. */
#define CTL_STATUS "status"	/* reply: the status JSON */
#define CTL_BACKUP "backup"	/* reply: {"ok":true} or {"ok":false,"error":"..."} */
#define CTL_ALARM_CLEAR "alarm-clear"	/* a person clears the ransomware alarm; reply as
					 * for backup ("error" says when there was none) */

/* ctl_listen(path, err): create the directory if needed (mode 0755), replace a stale
 * socket, listen with mode 0600 (root only). Returns the listening fd or a CF_E* code. */
int ctl_listen(const char *path, struct cf_error *err);

/* ctl_set_group(path, group, err): open the socket ${path} to ${group} (mode 0660, that
 * group). Returns 0; CTL_NO_GROUP when no such group exists (the socket stays root only);
 * CTL_GROUP_NO_SEARCH when done but the socket's folder does not let the group through;
 * or a CF_E* code. */
#define CTL_NO_GROUP 1
#define CTL_GROUP_NO_SEARCH 2
int ctl_set_group(const char *path, const char *group, struct cf_error *err);

/* ctl_read_request(fd, buf, n): read one request line (at most ${n}-1 bytes, within 1 s in
 * all, however the client spaces its bytes) from an accepted connection into ${buf}, without
 * its newline. Returns 0 or -1. */
int ctl_read_request(int fd, char *buf, size_t n);

/* ctl_reply(fd, text): write ${text} and a newline, within 2 s in all (a client that does
 * not read is dropped). Returns 0 or -1. */
int ctl_reply(int fd, const char *text);

/* ctl_request(path, req, ret, err): connect to ${path}, send ${req}, read the whole reply
 * into ${ret} (malloc'd). Returns 0, CF_EUNREACH (no daemon there, or the socket refuses
 * the caller: then err->sys_errno is EACCES) or CF_EIO. */
int ctl_request(const char *path, const char *req, char **ret, struct cf_error *err);

#endif
