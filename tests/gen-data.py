#!/usr/bin/env python3
"""gen-data.py: deterministic test trees for coffre's integration tests (stdlib only).

  gen-data.py DIR [--seed N] [--size tiny|small]      create a small shop tree in DIR
  gen-data.py --mutate DIR --day N [--seed N]         apply one day of changes to DIR

The same seed (and size, and sequence of --mutate days) always gives the same bytes, names,
modes and mtimes. Sizes: tiny is about 2 MB, small about 20 MB (apparent size of the sparse
file not counted).

Fixed names the tests rely on (relative to DIR):
  compta/grand-livre.db              SQLite-like file of 4 KiB pages (random and compressible)
  compta/archive-2019.img            sparse file (holes of MiBs)
  compta/contrat-cadre.txt           hard-linked to clients/contrat-cadre (lien).txt and
                                     paie/contrat-cadre.txt (three names, one inode)
  clients/dernier contrat            relative symlink -> ../compta/contrat-cadre.txt
  clients/lien casse                 dangling symlink
  clients/notes.txt                  text file edited by --mutate
  factures/2021/01/facture-2021-0001.txt   never deleted nor moved by --mutate
  vide.txt, compta/.verrou           empty files
  corbeille/                         empty directory
  divers/                            awkward names: spaces, newline, ':', '\\', a Latin-1
                                     (non-UTF-8) name, a 255-byte name
  archives/n01/.../n20/fin.txt       deep path (20 levels)
  scans/scan-NN.bin                  incompressible data

--mutate DIR --day N: rewrites ~1% of the db pages in place (same inode), appends pages,
adds a few invoices under factures/2024/, edits clients/notes.txt, appends to the hard-linked
contract (in place), deletes one invoice, renames one client folder. Touched entries get
fixed mtimes on 2024-01-01 + N days, so nothing depends on the clock.
"""

import argparse
import base64
import os
import random
import stat
import sys

PAGE = 4096
BASE_TIME = 1609459200          # 2021-01-01T00:00:00Z: generated entries are dated after it
SPAN = 3 * 365 * 86400          # ... within three years
MUTATE_TIME = 1704067200        # 2024-01-01T00:00:00Z: day N of --mutate is this + N days

SIZES = {
    # clients, invoices, db pages, payslips, sparse MiB, scans, scan KiB
    "tiny": dict(clients=4, invoices=16, db_pages=160, payslips=6, sparse_mib=6,
                 scans=1, scan_kib=256),
    "small": dict(clients=12, invoices=120, db_pages=1800, payslips=24, sparse_mib=24,
                  scans=4, scan_kib=1024),
}

CLIENTS = ["Dupont SARL", "Boulangerie Martin", "Garage des Alpes", "Le Petit Zinc",
           "Pharmacie Rousseau", "Atelier Lefèvre", "Fleurs & Cie", "Transports Girard",
           "Cabinet Moreau", "Hôtel du Lac", "Librairie Papyrus", "Ferme Bonnet",
           "Menuiserie Roux", "Café de la Gare", "Optique Vision"]
ITEMS = ["Croissants (carton de 50)", "Baguettes tradition", "Entretien annuel",
         "Pièces détachées", "Main d'oeuvre (heure)", "Livraison", "Conseil", "Remise fidélité",
         "Abonnement mensuel", "Location matériel"]


def die(msg):
    sys.stderr.write("gen-data.py: %s\n" % msg)
    sys.exit(2)


def logo_bytes():
    """The shop's logo: the same 48 KiB in every tree, whatever the seed (dedup matters)."""
    return random.Random("coffre-logo").randbytes(48 * 1024)


def logo_text():
    b = base64.b64encode(logo_bytes()).decode("ascii")
    return "\n".join(b[i:i + 76] for i in range(0, len(b), 76)) + "\n"


def write(path, data, mode=0o644):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def mkdir(path, mode=0o755):
    os.makedirs(path, exist_ok=True)
    os.chmod(path, mode)


def invoice(rng, year, num, client, logo):
    lines = ["FACTURE N° %d-%04d" % (year, num),
             "Date : %02d/%02d/%d" % (rng.randint(1, 28), rng.randint(1, 12), year),
             "Client : %s" % client,
             "Émetteur : Boutique Coffre, 12 rue des Sauvegardes, 75011 Paris",
             "SIRET : 123 456 789 00012", "",
             "LOGO-BEGIN (image/png, base64)"]
    head = "\n".join(lines) + "\n"
    body = []
    total = 0
    for _ in range(rng.randint(3, 25)):
        qty = rng.randint(1, 40)
        price = rng.randint(100, 99999)
        total += qty * price
        body.append("%-40s %4d x %8.2f EUR = %10.2f EUR" % (rng.choice(ITEMS), qty, price / 100,
                                                          qty * price / 100))
    tail = "LOGO-END\n" + "\n".join(body) + "\n\nTOTAL HT : %.2f EUR\nTVA 20%% : %.2f EUR\n" % (
        total / 100, total / 500)
    return (head + logo + tail).encode("utf-8")


def db_page(rng, n):
    """One 4 KiB page: random (like compressed blobs), text rows, or mostly zeros."""
    kind = rng.random()
    if kind < 0.4:
        return rng.randbytes(PAGE)
    if kind < 0.8:
        rows = []
        while sum(len(r) for r in rows) < PAGE:
            rows.append("%08d|%s|%d.%02d|%s\n" % (rng.randint(0, 10 ** 8), rng.choice(CLIENTS),
                                                 rng.randint(0, 9999), rng.randint(0, 99),
                                                 rng.choice(ITEMS)))
        return "".join(rows).encode("utf-8")[:PAGE]
    header = b"PAGE%08d" % n + rng.randbytes(52)
    return header + bytes(PAGE - len(header))


def set_times(root, rng):
    """Fixed past mtimes on every entry, bottom-up so parents keep theirs."""
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        dirnames.sort()
        for name in sorted(filenames) + dirnames:
            p = os.path.join(dirpath, name)
            t = BASE_TIME + rng.randrange(SPAN)
            if os.path.islink(p):
                os.utime(p, (t, t), follow_symlinks=False)
            elif not os.path.isdir(p):
                os.utime(p, (t, t))
        # directories after their content (subdirectories were set when walked, bottom-up)
        t = BASE_TIME + rng.randrange(SPAN)
        os.utime(dirpath, (t, t))


def generate(root, seed, size):
    cfg = SIZES[size]
    rng = random.Random("gen:%d:%s" % (seed, size))
    if os.path.lexists(root) and (not os.path.isdir(root) or os.listdir(root)):
        die("%s exists and is not an empty directory" % root)
    mkdir(root)
    logo = logo_text()
    j = os.path.join

    # factures/YYYY/MM/facture-YYYY-NNNN.txt, with the logo also as a file per year
    mkdir(j(root, "factures"))
    write(j(root, "factures", "logo.png"), logo_bytes())
    per_year = {}
    for i in range(cfg["invoices"]):
        year = 2021 + i * 3 // cfg["invoices"]
        per_year[year] = per_year.get(year, 0) + 1
        num = per_year[year]
        month = 1 + (num - 1) * 12 * 3 // cfg["invoices"] % 12 if num > 1 else 1
        d = j(root, "factures", str(year), "%02d" % month)
        mkdir(j(root, "factures", str(year)))
        mkdir(d)
        if not os.path.exists(j(root, "factures", str(year), "logo.png")):
            write(j(root, "factures", str(year), "logo.png"), logo_bytes())
        write(j(d, "facture-%d-%04d.txt" % (year, num)),
              invoice(rng, year, num, CLIENTS[i % cfg["clients"]], logo))

    # clients/<name>/ with a card, a copy of an invoice (identical bytes: dedup), notes
    mkdir(j(root, "clients"))
    for c in range(cfg["clients"]):
        d = j(root, "clients", "Client %02d - %s" % (c + 1, CLIENTS[c]))
        mkdir(d)
        card = "Nom : %s\nTéléphone : 01 %02d %02d %02d %02d\nRemarques : %s\n" % (
            CLIENTS[c], rng.randint(10, 99), rng.randint(10, 99), rng.randint(10, 99),
            rng.randint(10, 99), " ".join(rng.choice(ITEMS) for _ in range(rng.randint(5, 60))))
        write(j(d, "fiche client.txt"), card.encode("utf-8"))
        write(j(d, "copie facture.txt"), invoice(random.Random("copy:%d" % c), 2022, c + 1,
                                                  CLIENTS[c], logo))
    notes = "".join("%03d. Rappeler %s au sujet de la commande %d.\n" % (
        i, rng.choice(CLIENTS), rng.randint(1000, 9999)) for i in range(200))
    write(j(root, "clients", "notes.txt"), notes.encode("utf-8"))

    # compta/: the db, the sparse archive, the hard-linked contract (three names)
    mkdir(j(root, "compta"), 0o750)
    with open(j(root, "compta", "grand-livre.db"), "wb") as f:
        f.write(b"SQLite format 3\0" + bytes(PAGE - 16))
        for n in range(1, cfg["db_pages"]):
            f.write(db_page(rng, n))
    os.chmod(j(root, "compta", "grand-livre.db"), 0o640)
    sparse = j(root, "compta", "archive-2019.img")
    mib = 1 << 20
    with open(sparse, "wb") as f:
        for off in (0, 2 * mib + 12345, (cfg["sparse_mib"] // 2) * mib, cfg["sparse_mib"] * mib - 4096):
            f.seek(off)
            f.write(rng.randbytes(4096))
        f.truncate(cfg["sparse_mib"] * mib)
    os.chmod(sparse, 0o640)
    contract = ("CONTRAT-CADRE\nArticle 1 : clause standard.\n" +
                "".join("Article %d : %s\n" % (i, rng.choice(ITEMS)) for i in range(2, 120)))
    write(j(root, "compta", "contrat-cadre.txt"), contract.encode("utf-8"), 0o640)
    os.link(j(root, "compta", "contrat-cadre.txt"), j(root, "clients", "contrat-cadre (lien).txt"))
    write(j(root, "compta", ".verrou"), b"", 0o600)

    # paie/: private
    mkdir(j(root, "paie"), 0o700)
    for p in range(cfg["payslips"]):
        y, m = 2021 + p // 12, p % 12 + 1
        slip = "BULLETIN DE PAIE %02d/%d\nSalarié : %s\nBrut : %d EUR\nNet : %d EUR\n" % (
            m, y, rng.choice(["A. Durand", "B. Petit", "C. Leroy"]), rng.randint(1800, 4000),
            rng.randint(1400, 3100))
        write(j(root, "paie", "bulletin-%d-%02d.txt" % (y, m)), slip.encode("utf-8"), 0o600)
    os.link(j(root, "compta", "contrat-cadre.txt"), j(root, "paie", "contrat-cadre.txt"))

    # symlinks: relative, and dangling
    os.symlink("../compta/contrat-cadre.txt", j(root, "clients", "dernier contrat"))
    os.symlink("../archives/n'existe plus.txt", j(root, "clients", "lien casse"))

    # empty file, empty directory
    write(j(root, "vide.txt"), b"")
    mkdir(j(root, "corbeille"))

    # scripts
    mkdir(j(root, "outils"))
    write(j(root, "outils", "sauvegarde.sh"),
          b"#!/bin/sh\nexec coffre backup \"$HOME/boutique\"\n", 0o755)
    write(j(root, "outils", "rapport.py"), b"#!/usr/bin/env python3\nprint('rapport')\n", 0o750)

    # awkward names (bytes paths for the non-UTF-8 one)
    d = j(root, "divers")
    mkdir(d)
    write(j(d, "avec  des espaces .txt"), b"espaces\n")
    write(j(d, "note\nligne 2.txt"), b"newline in name\n")
    write(j(d, "rdv 10:30.txt"), b"colon\n", 0o600)
    write(j(d, "chemin\\windows.txt"), b"backslash\n")
    write(os.path.join(os.fsencode(d), b"r\xe9sum\xe9 latin1.txt"), b"latin-1 name\n")
    long_name = "L" * 251 + ".txt"
    assert len(long_name.encode()) == 255
    write(j(d, long_name), b"255-byte name\n")

    # deep path: 20 levels
    deep = j(root, "archives", *["n%02d" % i for i in range(1, 21)])
    os.makedirs(deep)
    write(j(deep, "fin.txt"), b"bottom of the deep path\n")

    # incompressible scans
    mkdir(j(root, "scans"))
    for s in range(cfg["scans"]):
        write(j(root, "scans", "scan-%02d.bin" % (s + 1)), rng.randbytes(cfg["scan_kib"] * 1024))

    set_times(root, rng)


def mutate(root, day, seed):
    if not os.path.isdir(root):
        die("%s is not a directory" % root)
    rng = random.Random("mutate:%d:%d" % (seed, day))
    t0 = MUTATE_TIME + day * 86400
    j = os.path.join
    touched = []            # (path, is_dir) to date at the end
    logo = logo_text()

    # the db: rewrite ~1% of the pages in place, append ~1%
    db = j(root, "compta", "grand-livre.db")
    npages = os.path.getsize(db) // PAGE
    with open(db, "r+b") as f:
        for n in sorted(rng.sample(range(1, npages), max(1, npages // 100))):
            f.seek(n * PAGE)
            f.write(db_page(rng, n))
        f.seek(npages * PAGE)
        for n in range(npages, npages + max(2, npages // 100)):
            f.write(db_page(rng, n))
    touched.append((db, False))

    # a few new invoices
    d = j(root, "factures", "2024", "%02d" % ((day - 1) % 12 + 1))
    for p in (j(root, "factures", "2024"), d):
        if not os.path.isdir(p):
            os.mkdir(p)
            os.chmod(p, 0o755)
    touched += [(j(root, "factures"), True), (j(root, "factures", "2024"), True), (d, True)]
    for i in range(rng.randint(2, 4)):
        p = j(d, "facture-2024-J%03d-%d.txt" % (day, i + 1))
        write(p, invoice(rng, 2024, day * 10 + i, rng.choice(CLIENTS), logo))
        touched.append((p, False))

    # edit a text file (a line in the middle, and one more at the end)
    notes = j(root, "clients", "notes.txt")
    with open(notes, "rb") as f:
        lines = f.read().split(b"\n")
    k = rng.randrange(len(lines) // 2)
    lines[k] = ("%03d. FAIT le jour %d (%s)." % (k, day, rng.choice(CLIENTS))).encode()
    lines.insert(-1, ("Jour %d : inventaire." % day).encode())
    with open(notes, "wb") as f:
        f.write(b"\n".join(lines))
    touched.append((notes, False))

    # append to the hard-linked contract in place: all three names change
    contract = j(root, "compta", "contrat-cadre.txt")
    with open(contract, "ab") as f:
        f.write(("Avenant du jour %d : %s\n" % (day, rng.choice(ITEMS))).encode("utf-8"))
    touched.append((contract, False))

    # delete one invoice (never a -0001 one)
    victims = []
    for dirpath, dirnames, filenames in os.walk(j(root, "factures")):
        for n in filenames:
            if n.startswith("facture-") and not n.endswith("-0001.txt"):
                victims.append(j(dirpath, n))
    if victims:
        v = rng.choice(sorted(victims))
        os.unlink(v)
        touched.append((os.path.dirname(v), True))

    # rename one client folder: "<name>" or "<name> (jK)" becomes "<name> (jDAY)"
    cdir = j(root, "clients")
    folders = sorted(n for n in os.listdir(cdir) if os.path.isdir(j(cdir, n)) and
                     not os.path.islink(j(cdir, n)))
    if folders:
        old = rng.choice(folders)
        base = old.rsplit(" (j", 1)[0] if old.endswith(")") else old
        new = "%s (j%d)" % (base, day)
        if new != old and not os.path.exists(j(cdir, new)):
            os.rename(j(cdir, old), j(cdir, new))
            touched.append((j(cdir, new), True))
    touched.append((cdir, True))

    # fixed mtimes: files first, then directories (deepest first)
    files = [p for p, is_dir in touched if not is_dir and os.path.exists(p)]
    dirs = sorted({p for p, is_dir in touched if is_dir and os.path.isdir(p)},
                  key=lambda p: -p.count(os.sep))
    for i, p in enumerate(files):
        os.utime(p, (t0 + 60 * i, t0 + 60 * i))
    for p in dirs:
        os.utime(p, (t0 + 3600, t0 + 3600))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", nargs="?", help="directory to create (empty or missing)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--size", choices=sorted(SIZES), default="small")
    ap.add_argument("--mutate", metavar="DIR", help="apply one day of changes to DIR")
    ap.add_argument("--day", type=int, help="day number for --mutate (1, 2, ...)")
    a = ap.parse_args()
    if a.mutate:
        if a.dir or a.day is None:
            ap.error("--mutate DIR takes --day N and no other directory")
        mutate(a.mutate, a.day, a.seed)
    else:
        if not a.dir:
            ap.error("DIR is required")
        generate(a.dir, a.seed, a.size)


if __name__ == "__main__":
    main()
