# wait.sh: wait on a condition against a deadline, for the integration tests (lib.sh sources
# it) and the test servers' start and stop scripts (tests/servers/). No sleeping a fixed time
# in the hope that something is ready: a loaded machine makes any such guess wrong.

# wait_until SECONDS CMD...: run CMD until it succeeds; return 0 as soon as it does, or 1
# when a try that ends after SECONDS (whole seconds of wall-clock time) has failed too.
# WAIT_POLL is the pause between tries (default 0.1 s; shorter where a brief window must be
# caught, such as a run under way).
wait_until() {
	local secs=$1 end
	shift
	end=$((${EPOCHREALTIME//[!0-9]/} + secs * 1000000))
	while :; do
		"$@" && return 0
		[ "${EPOCHREALTIME//[!0-9]/}" -lt "$end" ] || return 1
		sleep "${WAIT_POLL:-0.1}"
	done
}

# gone PID: true once process PID has exited (or is a zombie waiting to be reaped).
gone() {
	[ -d "/proc/$1" ] || return 0
	grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}
