/* dst_mem.h: a destination held in memory, for tests. It behaves as a local folder would
 * (objects appear whole, CF_ENOENT for absent ones, dst_get refuses objects past its bound)
 * and can be told to misbehave: fail the Nth call of a kind with a chosen code, deliver
 * short reads, call back before each operation (to slow reads down, or watch them), and it
 * counts every call. Handles made by dst_clone share the objects, the faults and the counts;
 * they may be used from different threads. */
#ifndef COFFRE_DST_MEM_H
#define COFFRE_DST_MEM_H

#include <stdint.h>

struct cf_error;
struct dst;

/* The kinds of calls counted and failed. */
enum dst_mem_op {
	DST_MEM_PUT,		/* dst_put_file and dst_put_buf */
	DST_MEM_GET,		/* dst_get */
	DST_MEM_GET_RANGE,	/* dst_get_range */
	DST_MEM_STAT,
	DST_MEM_LIST,
	DST_MEM_DEL,
	_DST_MEM_OP_MAX
};

extern const struct dst_ops dst_ops_mem;

/* dst_mem_open(ret, err): an empty destination, named "mem:". Free it with dst_free. */
int dst_mem_open(struct dst **ret, struct cf_error *err);

/* dst_mem_fail(d, op, nth, times, code): counting from now, the ${nth} call of ${op} (1 = the
 * next) and the ${times} - 1 after it fail with ${code} (a CF_E* code); ${times} 0 means every
 * call from the ${nth} on. A failed put stores nothing; a failed delete removes nothing. One
 * rule per kind: a new one replaces the old; ${nth} 0 removes it. */
void dst_mem_fail(struct dst *d, enum dst_mem_op op, unsigned long nth, unsigned long times,
	int code);

/* dst_mem_short_reads(d, keep): reads see every object cut to its first ${keep} bytes
 * (dst_get returns the cut object, dst_get_range CF_ECORRUPT past it), while dst_stat and
 * dst_list still give the true sizes. UINT64_MAX turns it off. */
void dst_mem_short_reads(struct dst *d, uint64_t keep);

/* dst_mem_on_call(d, fn, ctx): ${fn} runs at the start of every call, before the faults,
 * outside any lock (it may sleep to make reads slow). NULL removes it. */
void dst_mem_on_call(struct dst *d, void (*fn)(void *ctx, enum dst_mem_op op, const char *name),
	void *ctx);

/* dst_mem_calls(d, op): how many calls of ${op} were made, failed ones included. */
unsigned long dst_mem_calls(struct dst *d, enum dst_mem_op op);

#endif
