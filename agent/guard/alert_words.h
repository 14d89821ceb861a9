/* alert_words.h: the table of the conditions' texts (alert_words.c), for alert_msg.c. */
#ifndef COFFRE_GUARD_ALERT_WORDS_H
#define COFFRE_GUARD_ALERT_WORDS_H

#include "coffre/alert.h"

struct alert_words {
	const char *subject, *body, *end_subject, *end_body;
};

struct alert_row {
	const char *name;
	enum alert_severity severity;
	struct alert_words fr, en;
};

extern const struct alert_row alert_words[_ALERT_COND_MAX];

#endif
