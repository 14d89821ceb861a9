/* alert_words.c: what each condition's messages say, in French and English.
 *
 * One row a condition: its stable name, its severity, and for each language the subject and
 * body of its start (a reminder says the same, announced as a reminder) and of its end. The
 * texts are here rather than in the gettext catalogue: a message is written in the language
 * of the configuration ([alert] language), whatever the locale of the daemon that sends it.
 *
 * Words in braces are filled in: {shop} {host} {dest}, {last} (the last good backup or
 * complete push, "depuis le 12 novembre à 19:02"), {ago} (how long ago that was), {since}
 * (when the problem began), {at} (when this message was made), {lasted} (from {since} to
 * {at}), {detail} (the reason in the system's words). */
#include "guard/alert_words.h"

const struct alert_row alert_words[_ALERT_COND_MAX] = {
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
	[ALERT_FULL] = { "full", ALERT_WARNING,
		.fr = { "[{shop}] La copie « {dest} » est pleine",
			"La copie de sauvegarde « {dest} » n'a plus de place depuis le {since} : "
			"les nouvelles sauvegardes n'y sont plus copiées en entier.\n"
			"{detail}"
			"\n"
			"Que faire :\n"
			"- si c'est une clé ou un disque USB : remplacez-le par un plus grand (au "
			"moins le double de la place des données) et faites-le ajouter par la "
			"personne qui s'occupe de votre informatique ;\n"
			"- si c'est un stockage sur Internet : augmentez l'espace auprès du "
			"fournisseur, ou transmettez ce message à la personne qui s'occupe de votre "
			"informatique.\n",
			"[{shop}] Retour à la normale : la copie « {dest} » a de la place",
			"La copie de sauvegarde « {dest} » a de nouveau reçu une sauvegarde "
			"complète ({at}) ; le problème a duré {lasted}.\n"
			"Il n'y a rien à faire.\n" },
		.en = { "[{shop}] The copy \"{dest}\" is full",
			"The backup copy \"{dest}\" has had no room left since {since}: new backups "
			"no longer reach it in full.\n"
			"{detail}"
			"\n"
			"What to do:\n"
			"- if it is a USB stick or drive: replace it with a larger one (at least "
			"twice the size of the data) and have the person who looks after your "
			"computers add it;\n"
			"- if it is storage on the Internet: get more space from the provider, or "
			"pass this message on to the person who looks after your computers.\n",
			"[{shop}] Back to normal: the copy \"{dest}\" has room",
			"The backup copy \"{dest}\" received a complete backup again ({at}); the "
			"problem lasted {lasted}.\n"
			"There is nothing to do.\n" } },
	[ALERT_REFUSED] = { "refused", ALERT_CRITICAL,
		.fr = { "[{shop}] La copie « {dest} » refuse la clé d'accès",
			"Le stockage de sauvegarde « {dest} » refuse la clé d'accès de "
			"l'ordinateur {host} depuis le {since} : plus aucune sauvegarde n'y est "
			"copiée.\n"
			"{detail}"
			"\n"
			"Que faire :\n"
			"- transmettez ce message à la personne qui s'occupe de votre informatique : "
			"la clé d'accès a peut-être expiré ou été changée, ou l'abonnement a pris "
			"fin ;\n"
			"- une fois la clé corrigée dans la configuration de coffre, les copies "
			"reprennent toutes seules.\n",
			"[{shop}] Retour à la normale : la copie « {dest} » accepte la clé",
			"La copie de sauvegarde « {dest} » a de nouveau reçu une sauvegarde "
			"complète ({at}) ; le problème a duré {lasted}.\n"
			"Il n'y a rien à faire.\n" },
		.en = { "[{shop}] The copy \"{dest}\" refuses the access key",
			"The backup storage \"{dest}\" has refused the access key of the computer "
			"{host} since {since}: no backup reaches it any more.\n"
			"{detail}"
			"\n"
			"What to do:\n"
			"- pass this message on to the person who looks after your computers: the "
			"access key may have expired or been changed, or the subscription ended;\n"
			"- once the key is corrected in coffre's configuration, the copies resume "
			"by themselves.\n",
			"[{shop}] Back to normal: the copy \"{dest}\" accepts the key",
			"The backup copy \"{dest}\" received a complete backup again ({at}); the "
			"problem lasted {lasted}.\n"
			"There is nothing to do.\n" } },
	[ALERT_LOCK] = { "lock", ALERT_CRITICAL,
		.fr = { "[{shop}] La copie « {dest} » n'est plus protégée contre l'effacement",
			"Les sauvegardes de la copie « {dest} » ne sont plus verrouillées contre "
			"l'effacement comme prévu (Object Lock), depuis le {since}. Un pirate qui "
			"prendrait la main sur l'ordinateur {host} pourrait les effacer.\n"
			"{detail}"
			"\n"
			"Que faire :\n"
			"- transmettez ce message à la personne qui s'occupe de votre informatique "
			"ou à votre fournisseur de stockage : le verrouillage doit être rétabli.\n",
			"[{shop}] Retour à la normale : la copie « {dest} » est verrouillée",
			"Les sauvegardes de la copie « {dest} » sont de nouveau verrouillées contre "
			"l'effacement ({at}) ; le problème a duré {lasted}.\n"
			"Il n'y a rien à faire.\n" },
		.en = { "[{shop}] The copy \"{dest}\" is no longer protected from deletion",
			"The backups of the copy \"{dest}\" are no longer locked against deletion "
			"as they should be (Object Lock), since {since}. An attacker who took over "
			"the computer {host} could delete them.\n"
			"{detail}"
			"\n"
			"What to do:\n"
			"- pass this message on to the person who looks after your computers or to "
			"your storage provider: the lock must be restored.\n",
			"[{shop}] Back to normal: the copy \"{dest}\" is locked",
			"The backups of the copy \"{dest}\" are locked against deletion again "
			"({at}); the problem lasted {lasted}.\n"
			"There is nothing to do.\n" } },
	[ALERT_RESTARTED] = { "restarted", ALERT_WARNING,
		.fr = { "[{shop}] Le service coffre s'est arrêté anormalement sur {host}",
			"Le service de sauvegarde coffre s'est arrêté sans prévenir sur "
			"l'ordinateur {host}, puis a redémarré le {since}.\n"
			"{detail}"
			"Les sauvegardes continuent. Si ce message revient souvent, transmettez-le "
			"à la personne qui s'occupe de votre informatique.\n",
			"[{shop}] Retour à la normale : le service coffre fonctionne sur {host}",
			"Le service coffre fonctionne sans arrêt depuis son redémarrage sur "
			"l'ordinateur {host} ({at}).\n"
			"Il n'y a rien à faire.\n" },
		.en = { "[{shop}] The coffre service stopped abnormally on {host}",
			"The coffre backup service stopped without warning on the computer {host}, "
			"then started again on {since}.\n"
			"{detail}"
			"Backups go on. If this message comes back often, pass it on to the person "
			"who looks after your computers.\n",
			"[{shop}] Back to normal: the coffre service runs on {host}",
			"The coffre service has run without stopping since it started again on the "
			"computer {host} ({at}).\n"
			"There is nothing to do.\n" } },
	[ALERT_CONFIG] = { "config", ALERT_WARNING,
		.fr = { "[{shop}] Configuration de coffre refusée sur {host}",
			"La configuration de coffre modifiée sur l'ordinateur {host} a été refusée "
			"le {since} : elle contient une erreur. coffre continue avec l'ancienne "
			"configuration ; les changements voulus ne sont pas appliqués.\n"
			"{detail}"
			"\n"
			"Que faire :\n"
			"- transmettez ce message à la personne qui a modifié la configuration, "
			"pour qu'elle corrige l'erreur.\n",
			"[{shop}] Retour à la normale : configuration de coffre acceptée",
			"La configuration de coffre de l'ordinateur {host} a été acceptée ({at}).\n"
			"Il n'y a rien à faire.\n" },
		.en = { "[{shop}] coffre's configuration refused on {host}",
			"The changed configuration of coffre on the computer {host} was refused on "
			"{since}: it holds an error. coffre goes on with the previous "
			"configuration; the wanted changes are not applied.\n"
			"{detail}"
			"\n"
			"What to do:\n"
			"- pass this message on to the person who changed the configuration, so "
			"that they correct the error.\n",
			"[{shop}] Back to normal: coffre's configuration accepted",
			"The configuration of coffre on the computer {host} was accepted ({at}).\n"
			"There is nothing to do.\n" } },
	[ALERT_DRILL] = { "drill", ALERT_CRITICAL,
		.fr = { "[{shop}] La copie « {dest} » ne se restaure pas correctement",
			"L'exercice de restauration de la copie « {dest} » a échoué, ou aucun n'a "
			"réussi depuis le {since} : rien ne prouve que les fichiers de {shop} "
			"pourraient en être récupérés.\n"
			"{detail}"
			"\n"
			"Que faire :\n"
			"- transmettez ce message à la personne qui s'occupe de votre informatique : "
			"elle peut relancer l'exercice avec la commande « coffre drill » et vérifier "
			"la copie avec « coffre check » ;\n"
			"- si c'est une clé ou un disque USB, branchez-le sur l'ordinateur {host} "
			"pour que l'exercice puisse avoir lieu.\n",
			"[{shop}] Retour à la normale : la copie « {dest} » se restaure",
			"Un exercice de restauration de la copie « {dest} » a réussi ({at}) ; le "
			"problème a duré {lasted}.\n"
			"Il n'y a rien à faire.\n" },
		.en = { "[{shop}] The copy \"{dest}\" does not restore properly",
			"The restore drill of the copy \"{dest}\" failed, or none has passed since "
			"{since}: nothing proves that the files of {shop} could be got back from "
			"it.\n"
			"{detail}"
			"\n"
			"What to do:\n"
			"- pass this message on to the person who looks after your computers: they "
			"can run the drill again with the command \"coffre drill\" and check the copy "
			"with \"coffre check\";\n"
			"- if it is a USB stick or drive, plug it into the computer {host} so that "
			"the drill can take place.\n",
			"[{shop}] Back to normal: the copy \"{dest}\" restores",
			"A restore drill of the copy \"{dest}\" passed ({at}); the problem lasted "
			"{lasted}.\n"
			"There is nothing to do.\n" } },
};
