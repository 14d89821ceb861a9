/* test_desktop.c: the graphical sessions found in /proc (desktop.h): a process's environment
 * parsed from hostile bytes (cut, over-long, control characters, repeated names), a /proc
 * made in a temporary folder (people's processes and the others, a linked environ), and
 * notify-send found along PATH. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coffre/desktop.h"

#include "fixture.h"

/* Parses the ${len} bytes at ${b} (NULs inside) into ${e}. */
static int parse(const char *b, size_t len, struct desktop_env *e)
{
	return desktop_env_parse(b, len, e);
}

#define P(lit, e) parse(lit, sizeof(lit) - 1, e)

static void test_env_session(void **state)
{
	(void)state;
	struct desktop_env e;
	assert_int_equal(P("HOME=/home/a\0DISPLAY=:0\0DBUS_SESSION_BUS_ADDRESS=unix:path=/run/"
			   "user/1000/bus\0XDG_RUNTIME_DIR=/run/user/1000\0", &e), 1);
	assert_string_equal(e.v[DESKTOP_DISPLAY], ":0");
	assert_string_equal(e.v[DESKTOP_DBUS], "unix:path=/run/user/1000/bus");
	assert_string_equal(e.v[DESKTOP_RUNTIME], "/run/user/1000");
	assert_string_equal(e.v[DESKTOP_WAYLAND], "");
	assert_int_equal(P("WAYLAND_DISPLAY=wayland-0\0", &e), 1);
	assert_string_equal(e.v[DESKTOP_WAYLAND], "wayland-0");
	assert_string_equal(desktop_var_name(DESKTOP_DBUS), "DBUS_SESSION_BUS_ADDRESS");
	assert_null(desktop_var_name(_DESKTOP_VARS));
}

static void test_env_hostile(void **state)
{
	(void)state;
	struct desktop_env e;
	/* No display: not a session, even with a bus. */
	assert_int_equal(P("DBUS_SESSION_BUS_ADDRESS=unix:path=/x\0XDG_RUNTIME_DIR=/r\0", &e), 0);
	assert_int_equal(P("", &e), 0);
	assert_int_equal(parse(NULL, 0, &e), 0);
	/* Names that only begin like ours, or without '='. */
	assert_int_equal(P("DISPLAYX=:0\0XDISPLAY=:0\0DISPLAY\0display=:0\0", &e), 0);
	/* The last entry cut (no NUL): not trusted. */
	assert_int_equal(P("A=b\0DISPLAY=:0", &e), 0);
	/* Empty, control characters, bytes over 0x7e, too long: left out. */
	assert_int_equal(P("DISPLAY=\0", &e), 0);
	assert_int_equal(P("DISPLAY=:0\nX=1\0", &e), 0);
	assert_int_equal(P("DISPLAY=:0\x1b[2J\0", &e), 0);
	assert_int_equal(P("DISPLAY=\xc3\xa9\0", &e), 0);
	char big[DESKTOP_VALUE_MAX + 16];
	memset(big, 'a', sizeof big);
	memcpy(big, "DISPLAY=", 8);
	big[sizeof big - 1] = 0;
	assert_int_equal(parse(big, sizeof big, &e), 0);
	/* Just fits. */
	big[8 + DESKTOP_VALUE_MAX - 1] = 0;
	assert_int_equal(parse(big, 8 + DESKTOP_VALUE_MAX, &e), 1);
	assert_int_equal(strlen(e.v[DESKTOP_DISPLAY]), DESKTOP_VALUE_MAX - 1);
	/* The first one counts, as getenv reads it, even when it is refused. */
	assert_int_equal(P("DISPLAY=:1\0DISPLAY=:2\0", &e), 1);
	assert_string_equal(e.v[DESKTOP_DISPLAY], ":1");
	assert_int_equal(P("DISPLAY=\x01\0DISPLAY=:2\0", &e), 0);
	/* A NUL inside a value ends it where the kernel ends it. */
	assert_int_equal(P("DISPLAY=:3\0\0\0", &e), 1);
	assert_string_equal(e.v[DESKTOP_DISPLAY], ":3");
}

static char dir[256];

static void proc_entry(const char *pid, const char *environ, size_t len, uid_t uid)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, pid);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof p, "%s/%s/environ", dir, pid);
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(environ, 1, len, f), len);
	fclose(f);
	snprintf(p, sizeof p, "%s/%s", dir, pid);
	if (uid)
		assert_int_equal(chown(p, uid, uid), 0);
}

static void test_find(void **state)
{
	(void)state;
	static const char env[] = "DISPLAY=:5\0XDG_RUNTIME_DIR=/run/user/4242\0";
	static const char other[] = "DISPLAY=:6\0";
	static const char plain[] = "HOME=/home/x\0";
	struct desktop_session s[4];
	size_t n = 9, denied = 9;
	assert_int_equal(fx_mkdtemp(dir, sizeof dir, "desktop"), 0);
	assert_int_equal(desktop_find(dir, s, 4, &n, &denied), 0);
	assert_int_equal(n, 0);
	char missing[300];
	snprintf(missing, sizeof missing, "%s/none", dir);
	assert_int_equal(desktop_find(missing, s, 4, &n, &denied), -1);
	if (geteuid() != 0) {
		fx_rm_rf(dir);
		skip();	/* the people's processes need their own owners */
	}
	proc_entry("self", env, sizeof env - 1, 4242);		/* not a pid */
	proc_entry("1", env, sizeof env - 1, 0);		/* root's */
	proc_entry("70", env, sizeof env - 1, 65534);		/* nobody */
	proc_entry("80", plain, sizeof plain - 1, 4243);	/* no display */
	proc_entry("90", env, sizeof env - 1, 4242);
	proc_entry("91", other, sizeof other - 1, 4242);	/* the same person again */
	/* A person's environ that is a link to another file: not followed. */
	char p[512], q[512];
	snprintf(p, sizeof p, "%s/95", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(q, sizeof q, "%s/90/environ", dir);
	snprintf(p, sizeof p, "%s/95/environ", dir);
	assert_int_equal(symlink(q, p), 0);
	snprintf(p, sizeof p, "%s/95", dir);
	assert_int_equal(chown(p, 4244, 4244), 0);
	assert_int_equal(desktop_find(dir, s, 4, &n, &denied), 0);
	assert_int_equal(n, 1);
	assert_int_equal(denied, 0);	/* a link is refused, not denied */
	assert_int_equal(s[0].uid, 4242);
	assert_int_equal(s[0].gid, 4242);
	assert_true(strcmp(s[0].env.v[DESKTOP_DISPLAY], ":5") == 0 ||
		    strcmp(s[0].env.v[DESKTOP_DISPLAY], ":6") == 0);
	assert_int_equal(desktop_find(dir, s, 0, &n, &denied), 0);
	assert_int_equal(n, 0);
	fx_rm_rf(dir);
}

static void test_program(void **state)
{
	(void)state;
	char d[256], path[600], out[600], prog[512];
	assert_int_equal(fx_mkdtemp(d, sizeof d, "desktop-path"), 0);
	snprintf(path, sizeof path, "relative:%s/none:%s", d, d);
	assert_int_equal(desktop_program(path, out, sizeof out), -1);
	snprintf(prog, sizeof prog, "%s/notify-send", d);
	fx_write(prog, "#!/bin/sh\n");
	assert_int_equal(desktop_program(path, out, sizeof out), -1);	/* not executable */
	assert_int_equal(chmod(prog, 0755), 0);
	assert_int_equal(desktop_program(path, out, sizeof out), 0);
	assert_string_equal(out, prog);
	assert_int_equal(desktop_program(path, out, 8), -1);	/* too long for ${out} */
	fx_rm_rf(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env_session),
		cmocka_unit_test(test_env_hostile),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_program),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
