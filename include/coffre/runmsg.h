/* runmsg.h: what a run's process tells the daemon through its pipe: its progress, where each
 * destination stands after the push, and the run's result. One message per line,
 * "v1 KIND JSON\n", each at most RUNMSG_MAX bytes; the daemon takes at most RUNMSG_MAX_COUNT
 * of them from one run.
 *
 * Strings travel byte for byte: one that is not UTF-8 (a file name may be anything) is sent
 * as {"hex": "..."} in place of a JSON string.
 *
 * Bytes read back are untrusted: the parser is bounded (RUNMSG_MAX, the fixed string sizes of
 * the structs) and refuses what is not a message with CF_ECORRUPT. */
#ifndef COFFRE_RUNMSG_H
#define COFFRE_RUNMSG_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/state.h"

struct cf_error;

#define RUNMSG_VERSION 1
#define RUNMSG_MAX (64u << 10)		/* bytes of one message, its newline included */
#define RUNMSG_MAX_COUNT (1u << 22)	/* messages of one run (four a second: twelve days) */

enum runmsg_kind {
	RUNMSG_PROGRESS,	/* "progress": how far the backup is, the file being read */
	RUNMSG_PHASE,		/* "phase": retention or push started; also a sign of life */
	RUNMSG_DEST,		/* "dest": one destination after the push */
	RUNMSG_RESULT,		/* "result": the run is over (the last message) */
	_RUNMSG_KIND_MAX,
	_RUNMSG_KIND_INVALID = -1,
};

struct runmsg_progress {
	uint64_t files_new, files_changed, files_unchanged, entries, bytes_read, bytes_added;
	double duration;
	char current[512];	/* the file being read; "": none */
};

struct runmsg {
	enum runmsg_kind kind;
	union {
		struct runmsg_progress progress;
		char phase[32];			/* RUNMSG_PHASE: "retention", "push" */
		struct {
			uint32_t index;		/* in the configuration's destinations */
			struct state_dest d;
		} dest;
		struct {
			int code;		/* CF_* of the run */
			struct state_run s;
		} result;
	} u;
};

/* runmsg_format(m, buf, cap, ret_len, err): ${m} as one line (newline included) into ${buf}
 * of ${cap} bytes. Returns 0 and sets ${ret_len}; CF_EUSAGE when the line would exceed
 * ${cap} or RUNMSG_MAX (an unknown kind likewise); CF_ENOMEM. */
int runmsg_format(const struct runmsg *m, char *buf, size_t cap, size_t *ret_len,
	struct cf_error *err);

/* runmsg_parse(bytes, len, ret, err): one message from ${len} untrusted ${bytes} (one line,
 * with or without its newline; no NUL needed). Returns 0 with ${*ret} filled; CF_ECORRUPT
 * (not a message: wrong version, unknown kind, bad JSON, a wrong type, a string too long for
 * its field, over RUNMSG_MAX bytes) or CF_ENOMEM; then ${*ret} is untouched. */
int runmsg_parse(const char *bytes, size_t len, struct runmsg *ret, struct cf_error *err);

/* What the daemon has read from a pipe and not yet parsed: a transparent value to zero
 * before use; runmsg_buf_space() gives where to read into, runmsg_buf_take() the lines. */
struct runmsg_buf {
	size_t n;
	char b[RUNMSG_MAX];
};

/* runmsg_buf_space(b, ret_len): where the next bytes go and how many fit (0: a line is too
 * long, runmsg_buf_take says so); runmsg_buf_fill(b, n) counts ${n} bytes put there. */
char *runmsg_buf_space(struct runmsg_buf *b, size_t *ret_len);
void runmsg_buf_fill(struct runmsg_buf *b, size_t n);

/* runmsg_buf_take(b, ret, err): the next whole line of ${b}, parsed. Returns 1 with ${*ret}
 * filled (the line is consumed); 0 when no whole line is buffered; CF_ECORRUPT or CF_ENOMEM
 * as runmsg_parse (the line is consumed) or when the buffer is full without a newline. */
int runmsg_buf_take(struct runmsg_buf *b, struct runmsg *ret, struct cf_error *err);

#endif
