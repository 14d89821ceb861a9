/* fleet_out.h: the fleet view's outputs (cmd_fleet.c): the words for each problem, the
 * CSV and the HTML report. */
#ifndef COFFRE_CLI_FLEET_OUT_H
#define COFFRE_CLI_FLEET_OUT_H

#include <stddef.h>

struct buf;
struct fleet_report;
struct fleet_shop;

/* fleet_out_problems(s, now, out, n): the problems of ${s} in plain words, "; " between. */
void fleet_out_problems(const struct fleet_shop *s, long long now, char *out, size_t n);
/* fleet_out_summary(r, out, n): "300 shops: 287 protected, 13 need attention". */
void fleet_out_summary(const struct fleet_report *r, char *out, size_t n);
/* fleet_out_csv(r, b), fleet_out_html(r, b): the report appended to ${b}. 0 or -1 (memory). */
int fleet_out_csv(const struct fleet_report *r, struct buf *b);
int fleet_out_html(const struct fleet_report *r, struct buf *b);

#endif
