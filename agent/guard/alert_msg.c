/* alert_msg.c: the conditions and what their messages say, in French and English.
 *
 * One row a condition: its stable name, its severity, and for each language the subject and
 * body of its start (a reminder says the same, announced as a reminder) and of its end. The
 * texts are here rather than in the gettext catalogue: a message is written in the language
 * of the configuration ([alert] language), whatever the locale of the daemon that sends it.
 *
 * Words in braces are filled in: {shop} {host} {dest}, {last} (the last good backup or
 * complete push, "depuis le 12 novembre à 19:02"), {ago} (how long ago that was), {since}
 * (when the problem began), {at} (when this message was made), {lasted} (from {since} to
 * {at}). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "base/util.h"
#include "coffre/alert.h"
#include "coffre/error.h"

struct words {
	const char *subject, *body, *end_subject, *end_body;
};

static const struct cond_row {
	const char *name;
	enum alert_severity severity;
	struct words fr, en;
} conds[_ALERT_COND_MAX] = {
	[ALERT_TEST] = { "test", ALERT_INFO,
		.fr = { "[{shop}] Test des alertes de coffre",
			"Ceci est un message d'essai envoyé par coffre depuis l'ordinateur {host}.\n"
			"Il vous est parvenu : les alertes fonctionnent. Si les sauvegardes de "
			"{shop} s'arrêtent, vous serez prévenu ici.\n"
			"Il n'y a rien à faire.\n",
			"[{shop}] Test des alertes de coffre",
			"Fin de l'essai des alertes de coffre sur l'ordinateur {host}.\n"
			"Il n'y a rien à faire.\n" },
		.en = { "[{shop}] coffre alert test",
			"This is a test message sent by coffre from the computer {host}.\n"
			"It reached you: alerts work. If the backups of {shop} stop, you will be "
			"told here.\n"
			"There is nothing to do.\n",
			"[{shop}] coffre alert test",
			"End of the test of coffre's alerts on the computer {host}.\n"
			"There is nothing to do.\n" } },
	[ALERT_UNPROTECTED] = { "unprotected", ALERT_CRITICAL,
		.fr = { "[{shop}] Données non protégées : aucune sauvegarde {last}",
			"Aucune sauvegarde n'a réussi sur l'ordinateur {host} {last} ({ago}).\n"
			"Si cet ordinateur tombait en panne ou était attaqué maintenant, le travail "
			"fait depuis serait perdu.\n"
			"\n"
			"Que faire :\n"
			"- vérifiez que l'ordinateur {host} est allumé et que le service coffre "
			"fonctionne (commande : coffre status) ;\n"
			"- si un message d'erreur apparaît, transmettez-le à la personne qui "
			"s'occupe de votre informatique.\n",
			"[{shop}] Retour à la normale : une sauvegarde a réussi",
			"Une sauvegarde a de nouveau réussi sur l'ordinateur {host} ({at}).\n"
			"Les données de {shop} sont de nouveau protégées ; le problème a duré "
			"{lasted}.\n"
			"Il n'y a rien à faire.\n" },
		.en = { "[{shop}] Data not protected: no backup {last}",
			"No backup has succeeded on the computer {host} {last} ({ago}).\n"
			"If this computer broke down or were attacked now, the work done since "
			"then would be lost.\n"
			"\n"
			"What to do:\n"
			"- check that the computer {host} is switched on and that the coffre "
			"service runs (command: coffre status);\n"
			"- if an error message shows, pass it on to the person who looks after "
			"your computers.\n",
			"[{shop}] Back to normal: a backup succeeded",
			"A backup succeeded again on the computer {host} ({at}).\n"
			"The data of {shop} is protected again; the problem lasted {lasted}.\n"
			"There is nothing to do.\n" } },
	[ALERT_BEHIND] = { "behind", ALERT_WARNING,
		.fr = { "[{shop}] La copie « {dest} » n'a rien reçu {last}",
			"La copie de sauvegarde « {dest} » n'a reçu aucune sauvegarde complète "
			"{last} ({ago}).\n"
			"\n"
			"Que faire :\n"
			"- si c'est une clé ou un disque USB : branchez-le sur l'ordinateur "
			"{host} ; coffre le met à jour tout seul, puis vous pourrez le "
			"débrancher et le ranger ;\n"
			"- si c'est un stockage sur Internet : vérifiez la connexion, puis "
			"transmettez ce message à la personne qui s'occupe de votre "
			"informatique.\n",
			"[{shop}] Retour à la normale : la copie « {dest} » est à jour",
			"La copie de sauvegarde « {dest} » a reçu une sauvegarde complète "
			"({at}) ; le retard a duré {lasted}.\n"
			"Il n'y a rien à faire.\n" },
		.en = { "[{shop}] The copy \"{dest}\" has received nothing {last}",
			"The backup copy \"{dest}\" has received no complete backup {last} "
			"({ago}).\n"
			"\n"
			"What to do:\n"
			"- if it is a USB stick or drive: plug it into the computer {host}; "
			"coffre brings it up to date by itself, then you may unplug it and put "
			"it away;\n"
			"- if it is storage on the Internet: check the connection, then pass this "
			"message on to the person who looks after your computers.\n",
			"[{shop}] Back to normal: the copy \"{dest}\" is up to date",
			"The backup copy \"{dest}\" received a complete backup ({at}); the delay "
			"lasted {lasted}.\n"
			"There is nothing to do.\n" } },
	[ALERT_ATTACK] = { "attack", ALERT_CRITICAL,
		.fr = { "[{shop}] ALERTE : attaque probable par rançongiciel sur {host}",
			"coffre a vu sur l'ordinateur {host}, depuis le {since}, des fichiers "
			"modifiés comme le fait un rançongiciel (un logiciel qui chiffre les "
			"fichiers pour demander une rançon).\n"
			"La dernière sauvegarde propre, faite avant l'attaque, est mise de côté : "
			"aucun nettoyage automatique ne l'effacera.\n"
			"\n"
			"Que faire, tout de suite :\n"
			"- débranchez l'ordinateur {host} du réseau (câble et Wi-Fi), sans "
			"l'éteindre ;\n"
			"- ne branchez aucune clé ni aucun disque de sauvegarde dessus ;\n"
			"- appelez la personne qui s'occupe de votre informatique et transmettez-"
			"lui ce message : elle restaurera les fichiers avec la commande "
			"« coffre restore --before-attack » ;\n"
			"- ne payez pas de rançon.\n",
			"[{shop}] Alerte levée sur {host}",
			"L'alerte de rançongiciel sur l'ordinateur {host} a été levée par une "
			"personne ({at}), après {lasted}.\n"
			"La surveillance reprend normalement.\n" },
		.en = { "[{shop}] ALERT: likely ransomware attack on {host}",
			"coffre has seen files on the computer {host} changed the way ransomware "
			"changes them (software that encrypts files to demand a ransom), since "
			"{since}.\n"
			"The last clean backup, made before the attack, is set aside: no "
			"automatic clean-up will delete it.\n"
			"\n"
			"What to do, now:\n"
			"- disconnect the computer {host} from the network (cable and Wi-Fi), "
			"without switching it off;\n"
			"- do not plug any backup stick or drive into it;\n"
			"- call the person who looks after your computers and pass this message "
			"on: they will restore the files with the command "
			"\"coffre restore --before-attack\";\n"
			"- do not pay a ransom.\n",
			"[{shop}] Alert cleared on {host}",
			"The ransomware alert on the computer {host} was cleared by a person "
			"({at}), after {lasted}.\n"
			"Watching goes on as usual.\n" } },
	[ALERT_FAILED] = { "failed", ALERT_WARNING,
		.fr = { "[{shop}] Les sauvegardes échouent depuis le {since}",
			"Sur l'ordinateur {host}, les trois dernières sauvegardes ont échoué ou "
			"n'ont pas pu lire tous les fichiers, depuis le {since}.\n"
			"La dernière sauvegarde complète date {last}.\n"
			"\n"
			"Que faire :\n"
			"- sur l'ordinateur {host}, la commande « coffre status » dit l'erreur ;\n"
			"- si c'est un fichier ouvert ou un disque débranché, fermez-le ou "
			"rebranchez-le ; sinon transmettez ce message et l'erreur à la personne "
			"qui s'occupe de votre informatique.\n",
			"[{shop}] Retour à la normale : une sauvegarde a réussi",
			"Une sauvegarde a de nouveau réussi sur l'ordinateur {host} ({at}) ; les "
			"échecs ont duré {lasted}.\n"
			"Il n'y a rien à faire.\n" },
		.en = { "[{shop}] Backups have been failing since {since}",
			"On the computer {host}, the last three backups failed or could not read "
			"every file, since {since}.\n"
			"The last complete backup was made {last}.\n"
			"\n"
			"What to do:\n"
			"- on the computer {host}, the command \"coffre status\" says the error;\n"
			"- if it is an open file or an unplugged drive, close it or plug it back; "
			"otherwise pass this message and the error on to the person who looks "
			"after your computers.\n",
			"[{shop}] Back to normal: a backup succeeded",
			"A backup succeeded again on the computer {host} ({at}); the failures "
			"lasted {lasted}.\n"
			"There is nothing to do.\n" } },
};

static const char *const state_names[_ALERT_STATE_MAX] = { "start", "reminder", "end" };

const char *alert_cond_name(enum alert_cond c)
{
	return c >= 0 && c < _ALERT_COND_MAX ? conds[c].name : NULL;
}

enum alert_cond alert_cond_parse(const char *name)
{
	for (int i = 0; i < _ALERT_COND_MAX; i++)
		if (strcmp(conds[i].name, name) == 0)
			return (enum alert_cond)i;
	return _ALERT_COND_INVALID;
}

enum alert_severity alert_cond_severity(enum alert_cond c)
{
	return c >= 0 && c < _ALERT_COND_MAX ? conds[c].severity : ALERT_INFO;
}

const char *alert_severity_name(enum alert_severity s)
{
	return s == ALERT_CRITICAL ? "critical" : s == ALERT_WARNING ? "warning" : "info";
}

const char *alert_state_name(enum alert_state s)
{
	return s >= 0 && s < _ALERT_STATE_MAX ? state_names[s] : NULL;
}

enum alert_state alert_state_parse(const char *name)
{
	for (int i = 0; i < _ALERT_STATE_MAX; i++)
		if (strcmp(state_names[i], name) == 0)
			return (enum alert_state)i;
	return _ALERT_STATE_INVALID;
}

void alert_event_init(struct alert_event *ev, enum alert_cond cond, enum alert_state state,
	int64_t since, int64_t now)
{
	uint8_t rnd[ALERT_ID_LEN / 2];
	memset(ev, 0, sizeof *ev);
	if (sodium_init() < 0)
		abort();	/* libsodium cannot work on this system: nothing sensible to do */
	randombytes_buf(rnd, sizeof rnd);
	util_hex(ev->id, rnd, sizeof rnd);
	ev->cond = cond;
	ev->state = state;
	ev->since = since;
	ev->at = now;
}

void alert_host(char *out, size_t n)
{
	if (gethostname(out, n) != 0 || !out[0])
		snprintf(out, n, "localhost");
	out[n - 1] = 0;
}

static const char *const months_fr[] = { "janvier", "février", "mars", "avril", "mai", "juin",
	"juillet", "août", "septembre", "octobre", "novembre", "décembre" };
static const char *const months_en[] = { "January", "February", "March", "April", "May",
	"June", "July", "August", "September", "October", "November", "December" };

/* "12 novembre 2026 à 19:02" / "12 November 2026 at 19:02", local time. */
static void fmt_date(char *out, size_t n, int64_t t, int fr)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!localtime_r(&tt, &tm)) {
		snprintf(out, n, "?");
		return;
	}
	snprintf(out, n, fr ? "%d %s %d à %02d:%02d" : "%d %s %d at %02d:%02d", tm.tm_mday,
		(fr ? months_fr : months_en)[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min);
}

/* "3 jours et 4 heures", "5 minutes" / "3 days and 4 hours": the two largest units. */
static void fmt_span(char *out, size_t n, int64_t s, int fr)
{
	static const struct { int64_t secs; const char *fr1, *frn, *en1, *enn; } u[] = {
		{ 86400, "jour", "jours", "day", "days" },
		{ 3600, "heure", "heures", "hour", "hours" },
		{ 60, "minute", "minutes", "minute", "minutes" },
		{ 1, "seconde", "secondes", "second", "seconds" },
	};
	if (s < 0)
		s = 0;
	size_t i = 0;
	while (i < 3 && s < u[i].secs)
		i++;
	int64_t a = s / u[i].secs, rest = s % u[i].secs;
	int len = snprintf(out, n, "%lld %s", (long long)a,
		fr ? (a > 1 ? u[i].frn : u[i].fr1) : (a > 1 ? u[i].enn : u[i].en1));
	if (i < 2 && rest / u[i + 1].secs > 0 && len > 0 && (size_t)len < n) {
		int64_t b = rest / u[i + 1].secs;
		snprintf(out + len, n - (size_t)len, fr ? " et %lld %s" : " and %lld %s",
			(long long)b, fr ? (b > 1 ? u[i + 1].frn : u[i + 1].fr1) :
			(b > 1 ? u[i + 1].enn : u[i + 1].en1));
	}
}

struct fill {
	const char *key;
	char val[200];
};

/* ${tmpl} with each {key} of ${f} replaced, appended to ${b}. */
static int expand(struct buf *b, const char *tmpl, const struct fill *f, size_t nf)
{
	for (const char *p = tmpl; *p;) {
		if (*p == '{') {
			const char *e = strchr(p, '}');
			size_t i = 0;
			for (; e && i < nf; i++)
				if (strlen(f[i].key) == (size_t)(e - p - 1) &&
				    strncmp(p + 1, f[i].key, (size_t)(e - p - 1)) == 0)
					break;
			if (e && i < nf) {
				if (buf_append(b, f[i].val, strlen(f[i].val)))
					return -1;
				p = e + 1;
				continue;
			}
		}
		if (buf_append(b, p, 1))
			return -1;
		p++;
	}
	return buf_append(b, "", 1);
}

int alert_render(const struct alert_event *ev, const char *lang, const char *shop,
	const char *host, struct alert_text *ret, struct cf_error *err)
{
	if (ev->cond < 0 || ev->cond >= _ALERT_COND_MAX || ev->state < 0 ||
	    ev->state >= _ALERT_STATE_MAX)
		return cf_error_set(err, CF_EUSAGE, "alert event out of range");
	int fr = lang && strcmp(lang, "fr") == 0;
	const struct words *w = fr ? &conds[ev->cond].fr : &conds[ev->cond].en;
	struct fill f[] = { { "shop", "" }, { "host", "" }, { "dest", "" }, { "last", "" },
		{ "ago", "" }, { "since", "" }, { "at", "" }, { "lasted", "" } };
	char d[100];
	snprintf(f[0].val, sizeof f[0].val, "%s", shop);
	snprintf(f[1].val, sizeof f[1].val, "%s", host);
	snprintf(f[2].val, sizeof f[2].val, "%s", ev->dest);
	if (ev->last_ok > 0) {
		fmt_date(d, sizeof d, ev->last_ok, fr);
		snprintf(f[3].val, sizeof f[3].val, fr ? "depuis le %s" : "since %s", d);
		fmt_span(d, sizeof d, ev->at - ev->last_ok, fr);
		snprintf(f[4].val, sizeof f[4].val, fr ? "il y a %s" : "%s ago", d);
	} else {
		snprintf(f[3].val, sizeof f[3].val, fr ? "depuis la mise en service" :
			"since it was set up");
		snprintf(f[4].val, sizeof f[4].val, fr ? "aucune n'a jamais réussi" :
			"none ever succeeded");
	}
	fmt_date(f[5].val, sizeof f[5].val, ev->since, fr);
	fmt_date(d, sizeof d, ev->at, fr);
	snprintf(f[6].val, sizeof f[6].val, fr ? "le %s" : "on %s", d);
	fmt_span(f[7].val, sizeof f[7].val, ev->at - ev->since, fr);
	size_t nf = sizeof f / sizeof *f;

	struct buf s = { 0 }, b = { 0 };
	int end = ev->state == ALERT_END;
	int bad = expand(&s, end ? w->end_subject : w->subject, f, nf);
	if (ev->state == ALERT_REMINDER && !bad) {
		/* "[shop] Rappel : ...": the shop first still, for the filters of mail readers. */
		const char *pre = fr ? "Rappel : " : "Reminder: ";
		const char *subj = (const char *)s.p;
		size_t at = strlen(f[0].val) + 3;	/* every subject starts "[{shop}] " */
		if (s.len < at + 1 || subj[0] != '[' || strncmp(subj + at - 2, "] ", 2) != 0)
			at = 0;
		struct buf r = { 0 };
		bad |= buf_append(&r, subj, at) | buf_append(&r, pre, strlen(pre)) |
			buf_append(&r, subj + at, s.len - at);
		buf_free(&s);
		s = r;
		char line[300];
		fmt_span(d, sizeof d, ev->at - ev->since, fr);
		snprintf(line, sizeof line, fr ? "Rappel : ce problème dure toujours, depuis le %s "
			"(%s).\n\n" : "Reminder: this problem still lasts, since %s (%s).\n\n",
			f[5].val, d);
		bad |= buf_append(&b, line, strlen(line));
	}
	bad |= expand(&b, end ? w->end_body : w->body, f, nf);
	if (bad) {
		buf_free(&s);
		buf_free(&b);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	ret->subject = (char *)s.p;
	ret->body = (char *)b.p;
	return 0;
}

void alert_text_release(struct alert_text *t)
{
	free(t->subject);
	free(t->body);
	t->subject = t->body = NULL;
}
