/* desktop_send.c: one desktop notification: notify-send run as the person whose session it
 * is, with that session's variables only, waited for a bounded time. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "coffre/desktop.h"

#define SEND_PATH "PATH=/usr/local/bin:/usr/bin:/bin"
#define SEND_POLL_MS 20

/* In the child: become the person, then notify-send. Never returns. */
static void run_as(const struct desktop_session *s, const char *name, char *const argv[],
	char *const envp[])
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(126);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Groups first, while we may still set them; then no way back to root. */
	if ((name ? initgroups(name, s->gid) : setgroups(0, NULL)) != 0 || setgid(s->gid) != 0 ||
	    setuid(s->uid) != 0 || (s->uid != 0 && setuid(0) == 0) || chdir("/") != 0)
		_exit(126);
	execve(argv[0], argv, envp);
	_exit(127);
}

int desktop_send(const struct desktop_session *s, const char *prog, const char *summary,
	const char *body, int critical, int timeout_ms)
{
	char vars[_DESKTOP_VARS][DESKTOP_VALUE_MAX + 32];
	char *envp[_DESKTOP_VARS + 2];
	size_t ne = 0;
	for (int k = 0; k < _DESKTOP_VARS; k++) {
		if (!s->env.v[k][0])
			continue;
		snprintf(vars[k], sizeof vars[k], "%s=%s", desktop_var_name((enum desktop_var)k),
			s->env.v[k]);
		envp[ne++] = vars[k];
	}
	char path[] = SEND_PATH;
	envp[ne++] = path;
	envp[ne] = NULL;
	char a0[4096], app[] = "-a", coffre[] = "coffre", u[] = "-u", crit[] = "critical",
		normal[] = "normal", dashes[] = "--";
	if ((size_t)snprintf(a0, sizeof a0, "%s", prog) >= sizeof a0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	char *sum = strdup(summary), *text = strdup(body);
	char *argv[] = { a0, app, coffre, u, critical ? crit : normal, dashes, sum, text, NULL };
	if (!sum || !text) {
		free(sum);
		free(text);
		errno = ENOMEM;
		return -1;
	}
	/* Looked up here: the child only calls what is safe after fork. */
	struct passwd *pw = getpwuid(s->uid);
	char name[256];
	int named = pw && pw->pw_name && snprintf(name, sizeof name, "%s", pw->pw_name) <
		(int)sizeof name;
	pid_t pid = fork();
	if (pid == 0)
		run_as(s, named ? name : NULL, argv, envp);
	int e = errno;
	free(sum);
	free(text);
	if (pid < 0) {
		errno = e;
		return -1;
	}
	int status = 0;
	for (int waited = 0;; waited += SEND_POLL_MS) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return -1;
		if (waited >= timeout_ms) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return 2;
		}
		struct timespec ts = { 0, SEND_POLL_MS * 1000000L };
		nanosleep(&ts, NULL);
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
