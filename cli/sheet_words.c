/* sheet_words.c: what the recovery sheet says, in French and English.
 *
 * The words are here rather than in the gettext catalogue: the sheet is written in the
 * language asked for (--language, else [alert] language), whatever the locale of the terminal
 * it is made from, as alerts are. {repo} in a command is the place the commands read from. */
#include <string.h>

#include "sheet.h"

/* The commands of the steps, the same in every language. */
static const char *const commands[5] = {
	"sudo apt install ./coffre_*.deb",
	"export COFFRE_S3_KEYS_FILE=/root/s3-keys",
	"nano /root/recovery.txt",
	"coffre --repo {repo} --recovery-key-file /root/recovery.txt snapshots",
	"coffre --repo {repo} --recovery-key-file /root/recovery.txt restore latest "
	"--target /srv/restore --verify",
};

static const struct sheet_words fr = {
	.colon = " : ",
	.title = "Fiche de secours coffre",
	.made_on = "Établie le",
	.warning = "Rangez cette fiche sous clé, loin de l'ordinateur du magasin. Avec elle et une "
		   "copie des sauvegardes, n'importe qui peut lire toutes les données : ne la "
		   "photographiez pas, ne l'enregistrez sur aucun ordinateur.",
	.key_label = "Clé de secours",
	.key_note = "Les tirets et les espaces ne comptent pas. Le QR code contient la même clé.",
	.places_label = "Où sont les sauvegardes",
	.spool = "dépôt sur l'ordinateur du magasin",
	.kind_local = "dossier",
	.kind_usb = "disque USB",
	.kind_s3 = "stockage S3",
	.kind_sftp = "serveur SFTP",
	.host_key = "clé d'hôte",
	.region = "région",
	.steps_label = "Pour tout restaurer sur un nouvel ordinateur",
	.step = {
		"Installez coffre sur le nouvel ordinateur (Debian ou Ubuntu) :",
		"Branchez le disque USB des sauvegardes. Pour un stockage S3 ou un serveur SFTP, "
		"demandez ses clés d'accès à la personne qui l'a mis en place ; les clés S3 vont "
		"dans un fichier lisible par vous seul (identifiant, puis clé secrète, une par "
		"ligne) :",
		"Tapez la clé de secours ci-dessus dans un fichier, sur une ligne (ou scannez le "
		"QR code) :",
		"Affichez la liste des sauvegardes (dates et numéros) ; si cette copie manque, "
		"mettez après --repo un autre emplacement de la liste ci-dessus :",
		"Restaurez la dernière sauvegarde et vérifiez-la ; les fichiers reviennent sous "
		"/srv/restore. Supprimez ensuite /root/recovery.txt.",
	},
	.step_cmd = commands,
	.footer = "Cette fiche remplace les précédentes : les anciennes clés de secours ne "
		  "fonctionnent plus.",
};

static const struct sheet_words en = {
	.colon = ": ",
	.title = "coffre recovery sheet",
	.made_on = "Made on",
	.warning = "Keep this sheet locked away from the shop's computer. With it and one copy of "
		   "the backups, anyone can read all the data: do not photograph it, do not store "
		   "it on any computer.",
	.key_label = "Recovery key",
	.key_note = "Dashes and spaces do not matter. The QR code holds the same key.",
	.places_label = "Where the backups are",
	.spool = "repository on the shop's computer",
	.kind_local = "folder",
	.kind_usb = "USB drive",
	.kind_s3 = "S3 storage",
	.kind_sftp = "SFTP server",
	.host_key = "host key",
	.region = "region",
	.steps_label = "To restore everything on a new computer",
	.step = {
		"Install coffre on the new computer (Debian or Ubuntu):",
		"Plug in the backup USB drive. For S3 storage or an SFTP server, ask the person who "
		"set it up for its access keys; S3 keys go in a file only you can read (key id, then "
		"secret key, one a line):",
		"Type the recovery key above into a file, on one line (or scan the QR code):",
		"List the backups (dates and ids); if this copy is missing, put another place of "
		"the list above after --repo:",
		"Restore the latest backup and check it; the files come back under /srv/restore. "
		"Then delete /root/recovery.txt.",
	},
	.step_cmd = commands,
	.footer = "This sheet replaces any older one: older recovery keys no longer work.",
};

const struct sheet_words *sheet_words_for(const char *language)
{
	if (language && strcmp(language, "fr") == 0)
		return &fr;
	if (language && strcmp(language, "en") == 0)
		return &en;
	return NULL;
}
