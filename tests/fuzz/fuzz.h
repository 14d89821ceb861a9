/* fuzz.h: what the libFuzzer targets share: a check that holds in every build (NDEBUG or
 * not), the key sealed inputs are made with, and the entry point's prototype. */
#ifndef COFFRE_FUZZ_H
#define COFFRE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* A broken property is a finding: abort, so that libFuzzer saves the input. */
#define FUZZ_CHECK(c) \
	do { \
		if (!(c)) { \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort(); \
		} \
	} while (0)

/* The master key of the repository gen_corpus writes sealed seeds with, and of the handle
 * the targets of sealed bytes open them with (repo_new_keyed). */
#define FUZZ_MASTER_KEY ((const uint8_t *)"coffre fuzz key: not a secret!!!")

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#endif
