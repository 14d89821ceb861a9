/* test_dst_pace.c: the download cap that cloned libcurl handles share (agent/dst/dst_curl.c):
 * a transfer alone gets the whole rate, two side by side get half each, an idle spell earns
 * no more than DST_PACE_BURST_NS of burst. The clock is given, so no timing is involved. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "dst/dst_curl.h"

#define MS 1000000ull
#define RATE 2500000u	/* 20 Mbit/s in bytes per second */

/* Feeds ${total} bytes in ${piece}-byte writes from ${nstreams} streams in turn, each write
 * at the time its stream's last wait ended; returns when the last byte may arrive (ns). */
static uint64_t run(struct dst_pacer *p, uint64_t start, int nstreams, size_t total, size_t piece)
{
	uint64_t t[4] = { start, start, start, start }, end = start;
	for (size_t sent = 0; sent < total; sent += piece) {
		int s = (int)((sent / piece) % (size_t)nstreams);
		t[s] += dst_pacer_wait(p, RATE, t[s], piece);
		end = t[s] > end ? t[s] : end;
	}
	return end;
}

static void test_alone_gets_the_whole_rate(void **state)
{
	(void)state;
	struct dst_pacer p = { 0 };
	uint64_t t0 = 1000 * MS;
	/* 25 MB at 2.5 MB/s: 10 s, less the burst allowed at the start. */
	uint64_t end = run(&p, t0, 1, 25000000, 16384);
	assert_in_range(end - t0, 10000 * MS - DST_PACE_BURST_NS - MS, 10000 * MS + MS);
}

static void test_two_streams_share_it(void **state)
{
	(void)state;
	struct dst_pacer p = { 0 };
	uint64_t t0 = 1000 * MS;
	/* The same bytes from two streams: together still 10 s, not 5. */
	uint64_t end = run(&p, t0, 2, 25000000, 16384);
	assert_in_range(end - t0, 10000 * MS - DST_PACE_BURST_NS - MS, 10000 * MS + MS);
}

static void test_idle_earns_a_bounded_burst(void **state)
{
	(void)state;
	struct dst_pacer p = { 0 };
	uint64_t t0 = 1000 * MS;
	run(&p, t0, 1, 2500000, 16384);	/* 1 s of data */
	/* An hour later: only DST_PACE_BURST_NS of data comes without a wait. */
	uint64_t later = t0 + 3600000ull * MS, free_bytes = 0;
	while (dst_pacer_wait(&p, RATE, later, 1000) == 0)
		free_bytes += 1000;
	uint64_t burst = (uint64_t)RATE * DST_PACE_BURST_NS / 1000000000u;
	assert_in_range(free_bytes, burst - 2000, burst + 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alone_gets_the_whole_rate),
		cmocka_unit_test(test_two_streams_share_it),
		cmocka_unit_test(test_idle_earns_a_bounded_burst),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
