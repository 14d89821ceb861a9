/* blob_memo.h: verified plaintexts of metadata blobs kept in memory for the life of a
 * repository handle, so that a reader that must fetch only what it counted (a restore drill)
 * never fetches a folder or chunk-list node twice. Bounded; safe from several threads. */
#ifndef COFFRE_BLOB_MEMO_H
#define COFFRE_BLOB_MEMO_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct blob_memo;

/* blob_memo_new(max_bytes): an empty memo that keeps at most ${max_bytes} of plaintext; NULL
 * when out of memory. */
struct blob_memo *blob_memo_new(size_t max_bytes);
/* blob_memo_get(m, id, ret): 1 and ${ret} holds the blob (replacing what it held) when
 * ${id} is kept; 0 when it is not; CF_ENOMEM. */
int blob_memo_get(struct blob_memo *m, const uint8_t id[32], struct buf *ret);
/* blob_memo_put(m, id, p, n): keeps a copy of the ${n} bytes at ${p} under ${id}, a blob
 * already checked against its id. Once the memo is full, nothing more is kept (what is kept
 * stays: the walks of a drill read the same nodes again in the same order). */
void blob_memo_put(struct blob_memo *m, const uint8_t id[32], const void *p, size_t n);
void blob_memo_free(struct blob_memo *m);

#endif
