/* desktop.h: desktop notifications to the people logged in graphically. Without logind,
 * their sessions are found in /proc: a process of a person's account (not a system one)
 * whose environment names a display (DISPLAY or WAYLAND_DISPLAY). The notification is
 * notify-send run as that person, with that session's variables only.
 *
 * Bytes read from /proc belong to the people's processes: hostile, read bounded, without
 * following links, each value checked before it goes into an environment. */
#ifndef COFFRE_DESKTOP_H
#define COFFRE_DESKTOP_H

#include <stddef.h>
#include <sys/types.h>

#define DESKTOP_UID_MIN 1000	/* people's accounts: from here ... */
#define DESKTOP_UID_MAX 60000	/* ... to here, excluded (nobody is 65534) */
#define DESKTOP_ENV_MAX (64 * 1024)	/* bytes of a process's environment read */
#define DESKTOP_VALUE_MAX 256	/* bytes of a value kept (with its NUL) */
#define DESKTOP_SESSIONS_MAX 16

/* The variables a notification needs, in this order; "" when absent. */
enum desktop_var { DESKTOP_DISPLAY, DESKTOP_WAYLAND, DESKTOP_DBUS, DESKTOP_RUNTIME,
	_DESKTOP_VARS };

struct desktop_env {
	char v[_DESKTOP_VARS][DESKTOP_VALUE_MAX];
};

/* desktop_var_name(k): "DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS",
 * "XDG_RUNTIME_DIR"; NULL out of range. */
const char *desktop_var_name(enum desktop_var k);

/* desktop_env_parse(bytes, len, ret): the variables above from a process's environment
 * (NAME=value entries, each ended by a NUL; the last one may be cut). A value that is empty,
 * too long, or holds a control character or a byte over 0x7e is left out. Returns 1 when a
 * display is named (DISPLAY or WAYLAND_DISPLAY), 0 otherwise; ${ret} is filled either way. */
int desktop_env_parse(const void *bytes, size_t len, struct desktop_env *ret);

struct desktop_session {
	uid_t uid;
	gid_t gid;		/* the process's group */
	struct desktop_env env;
};

/* desktop_find(proc, ret, max, ret_n, ret_denied): the graphical sessions under ${proc}
 * ("/proc"): one per person (uid in [DESKTOP_UID_MIN, DESKTOP_UID_MAX)), the first process
 * found with a display. At most ${max} into ${ret}; their number in ${ret_n}; in
 * ${ret_denied}, how many people's processes had an environment we may not read (reading
 * another uid's needs CAP_SYS_PTRACE). Returns 0 or -1 (${proc} cannot be read; errno set). */
int desktop_find(const char *proc, struct desktop_session *ret, size_t max, size_t *ret_n,
	size_t *ret_denied);

/* desktop_send(s, prog, summary, body, critical, timeout_ms): run ${prog} (an absolute path
 * to notify-send) as ${s}'s person (their groups, no other privilege) with ${s}'s variables
 * and PATH only, its output to /dev/null: notify-send -a coffre -u critical|normal -- SUMMARY
 * BODY. Waits at most ${timeout_ms}, then kills it. Returns 0 when it exited 0; 1 when it
 * failed; 2 when it was killed for taking too long; -1 when it could not be started (errno
 * set). Blocks: call it from a process of its own. */
int desktop_send(const struct desktop_session *s, const char *prog, const char *summary,
	const char *body, int critical, int timeout_ms);

/* desktop_program(path_env, out, n): the absolute path of notify-send along ${path_env}
 * (PATH's value; NULL: the usual system folders) into ${out}. Returns 0 or -1 when none. */
int desktop_program(const char *path_env, char *out, size_t n);

#endif
