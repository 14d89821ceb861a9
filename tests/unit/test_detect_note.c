/* test_detect_note.c: ransom notes by name (built-in names and extra globs, without case)
 * and by text (an onion address, or two phrases, English or French, in UTF-8, Latin-1 or
 * UTF-16), and file extensions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "coffre/detect.h"

static void test_note_name(void **state)
{
	static const char *const notes[] = { "README_FOR_DECRYPT.txt", "HOW_TO_DECRYPT.html",
		"How-To-Decrypt-Files.txt", "!!!_READ_ME_!!!.txt", "_readme.txt", "_README.TXT",
		"Restore-My-Files.txt", "DECRYPT_INSTRUCTIONS.html", "#DECRYPT MY FILES#.txt",
		"HOW_TO_RECOVER_DATA.hta", "a1b2c3-README.txt", "Comment_Restaurer_Vos_Fichiers.txt",
		"/home/shop/Documents/HOW_TO_DECRYPT.txt" };
	static const char *const files[] = { "README.txt", "readme.md", "facture-0042.pdf",
		"LISEZMOI.txt", "clients.csv", "decrypt.c", "notes.txt", "" };
	for (size_t i = 0; i < sizeof notes / sizeof notes[0]; i++)
		if (!detect_note_name(notes[i], NULL, 0))
			fail_msg("'%s' is a note", notes[i]);
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
		if (detect_note_name(files[i], NULL, 0))
			fail_msg("'%s' is not a note", files[i]);
	static const char *const extra[] = { "*.locked.txt", "info_*.hta" };
	assert_int_equal(detect_note_name("Info_x9.HTA", extra, 2), 1);
	assert_int_equal(detect_note_name("compta.LOCKED.txt", extra, 2), 1);
	assert_int_equal(detect_note_name("compta.locked", extra, 2), 0);
	assert_int_equal(detect_note_name("info_x9.hta", extra, 1), 0);
}

static int note(const char *s)
{
	return detect_note_text((const uint8_t *)s, strlen(s));
}

static void test_note_text(void **state)
{
	/* An onion address alone (v3: 56 base32 letters; v2: 16). */
	assert_int_equal(note("Contact us: http://"
		"vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd.onion/chat"), 1);
	assert_int_equal(note("visit XJ4TDOFLZPN4GVJM.ONION"), 1);
	assert_int_equal(note("see abcdef.onion or tor.onion.example"), 0);
	/* Two phrases, any case. */
	assert_int_equal(note("YOUR FILES HAVE BEEN ENCRYPTED. Pay in Bitcoin."), 1);
	assert_int_equal(note("To decrypt, download the Tor Browser."), 1);
	assert_int_equal(note("Your files are encrypted."), 0);	/* one */
	assert_int_equal(note("Bitcoin bitcoin BITCOIN"), 0);		/* one, thrice */
	/* French, in UTF-8 and in Latin-1, with or without accents. */
	assert_int_equal(note("Tous vos fichiers ont été chiffrés. Payez une rançon."), 1);
	assert_int_equal(note("VOS FICHIERS ONT ÉTÉ CRYPTÉS ! Pour les déchiffrer, "
		"contactez-nous."), 1);
	assert_int_equal(note("Vos fichiers ont \xe9t\xe9 chiffr\xe9s, la cl\xe9 priv\xe9"
		"e est chez nous."), 1);
	assert_int_equal(note("Vos fichiers ont ete cryptes, envoyez des bitcoins"), 1);
	/* A shop's everyday text. */
	assert_int_equal(note("Facture FAC-0042\nClient : Lefèvre\nTotal : 120,00 EUR\n"
		"Réglée par carte le 02/12/2025.\n"), 0);
	assert_int_equal(note("Le mot de passe du Wi-Fi est dans le tiroir."), 0);
	/* UTF-16LE, as some notes are written. */
	static const char u16[] = "Y\0o\0u\0r\0 \0f\0i\0l\0e\0s\0 \0a\0r\0e\0 \0e\0n\0c\0r\0y\0"
		"p\0t\0e\0d\0.\0 \0D\0e\0c\0r\0y\0p\0t\0 \0t\0h\0e\0m\0\n\0";
	assert_int_equal(detect_note_text((const uint8_t *)u16, sizeof u16 - 1), 1);
	/* Phrases far apart, across the scanner's chunks, and an address cut by a chunk. */
	static char big[20000];
	memset(big, '.', sizeof big);
	memcpy(big + 10, "bitcoin", 7);
	memcpy(big + 19000, "private key", 11);
	assert_int_equal(detect_note_text((const uint8_t *)big, sizeof big), 1);
	memset(big, '.', sizeof big);
	memcpy(big + 4096 - 30, "vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd.onion",
		62);
	assert_int_equal(detect_note_text((const uint8_t *)big, sizeof big), 1);
	memset(big, '.', sizeof big);
	assert_int_equal(detect_note_text((const uint8_t *)big, sizeof big), 0);
	assert_int_equal(detect_note_text((const uint8_t *)"", 0), 0);
}

static void test_ext(void **state)
{
	static const struct {
		const char *name, *ext;
	} cases[] = {
		{ "facture.PDF", "pdf" }, { "archive.tar.gz", "gz" }, { "compta.sqlite", "sqlite" },
		{ "x.LockBit", "lockbit" }, { "noext", "" }, { ".profile", "" }, { "name.", "" },
		{ "a.0123456789abcdef", "0123456789abcdef" }, { "a.0123456789abcdefg", "" },
		{ "dir.d/file", "" }, { "dir/f.Txt", "txt" }, { "", "" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char buf[32] = "garbage";
		detect_ext(cases[i].name, buf, sizeof buf);
		assert_string_equal(buf, cases[i].ext);
	}
	char small[4];
	detect_ext("a.docx", small, sizeof small);
	assert_string_equal(small, "");
	detect_ext("a.doc", small, sizeof small);
	assert_string_equal(small, "doc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_note_name),
		cmocka_unit_test(test_note_text),
		cmocka_unit_test(test_ext),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
