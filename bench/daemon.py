"""daemon.py - bench/run --daemon: coffred watching the many-files tree; 10 files changed;
how long from the change to the end of the backup it triggers, less the after-change delay
(see bench/README.md, "daemon").

coffred runs with `schedule = after-change 1s` (the smallest delay it takes) on a fresh
repository of its own.  coffred keeps the time of the last change in whole seconds and starts
the run at that second + the delay, so the wait after a change is between delay - 1 and delay
seconds.  After its start-up backup, for each run: just after a whole second of the clock,
append a line to 10 files in 10 folders; the trigger is then that second + the delay (when
coffred's timer fires).  Then ask `coffre status --json` every 20 ms until it reports the new
run finished.  Figure: time the run was seen finished - trigger (wall clock).  It includes the
timer's wake-up, starting the run's process, the backup itself, saving the state and up to one
polling interval plus one status call; last_backup.duration (the run's own time as coffred
measures it) is reported beside it.
"""
import json
import os
import shutil
import signal
import subprocess
import time

DELAY_S = 1
POLL_S = 0.02


def run(b, src, runs, coffred, say, die):
    import sys
    run_mod = sys.modules["__main__"]
    coffre = next((t for t in b.tools if t.name == "coffre"), None)
    if coffre is None:
        return
    if not coffred or not os.access(coffred, os.X_OK):
        why = "no coffred binary (give --coffred PATH)"
        say("daemon: skipped: " + why)
        b.res["skipped"]["daemon"] = why
        return
    d = os.path.join(b.work, "daemon")
    run_mod.rmtree(d)
    os.makedirs(os.path.join(d, "run"))
    binary = os.path.join(b.work, "bin", "coffred")
    shutil.copy2(coffred, binary)
    repo = os.path.join(d, "repo")
    pw = os.path.join(d, "password")
    with open(pw, "w") as f:
        f.write(run_mod.PASSWORD + "\n")
    os.chmod(pw, 0o600)
    sock = os.path.join(d, "run", "coffred.sock")
    conf = os.path.join(d, "coffre.conf")
    with open(conf, "w") as f:
        f.write("[backup]\npath = %s\nrepository = %s\npassword-file = %s\n"
                "schedule = after-change %ds\n[daemon]\nsocket = %s\nstate-dir = %s\n" %
                (src, repo, pw, DELAY_S, sock, os.path.join(d, "state")))
    env = dict(b.base_env, XDG_CACHE_HOME=os.path.join(d, "cache"), COFFRE_PASSWORD=run_mod.PASSWORD)
    subprocess.run([coffre.bin, "--repo", repo, "init", "-q"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    files = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(src) for f in fs)
    b.res["meta"]["daemon_files"] = len(files)
    say("== daemon: coffred watching %d files, schedule after-change %d s (%d runs)" %
        (len(files), DELAY_S, runs))
    log = open(os.path.join(b.work, "logs", "coffred.log"), "wb")
    p = subprocess.Popen([binary, "--config", conf], env=env, stdin=subprocess.DEVNULL,
                         stdout=log, stderr=log)

    def status():
        o = subprocess.run([coffre.bin, "status", "--json", "--socket", sock], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        if o.returncode not in (0, 1):
            return None
        try:
            return json.loads(o.stdout)
        except ValueError:
            return None

    def wait_run(after, limit):
        """Poll until a run numbered above ${after} has ended; (status, time seen)."""
        t_end = time.monotonic() + limit
        while time.monotonic() < t_end:
            if p.poll() is not None:
                die("coffred exited (%s); see %s/logs/coffred.log" % (p.returncode, b.work))
            st = status()
            lb = (st or {}).get("last_backup") or {}
            if st and st.get("state") == "idle" and (lb.get("run") or 0) > after:
                return st, time.time()
            time.sleep(POLL_S)
        die("daemon: no backup ended within %d s" % limit)

    try:
        st, _ = wait_run(0, 1800)
        lb = st["last_backup"]
        if lb.get("result") != "ok":
            die("daemon: the start-up backup ended %s: %s" % (lb.get("result"), lb.get("error")))
        say("   start-up backup (full scan): %.2f s, %s files" % (lb["duration"], lb.get("files")))
        last = lb["run"]
        step = max(1, len(files) // 10)
        for i in range(runs):
            time.sleep(DELAY_S + 0.5)   # let the change come well after the previous run
            time.sleep(1.02 - time.time() % 1)   # just after a whole second (see above)
            for k in range(10):
                with open(files[(k * step + 3 + i * 11) % len(files)], "a") as f:
                    f.write("daemon bench run %d: one more line\n" % (i + 1))
            t_change = time.time()
            trigger = int(t_change) + DELAY_S
            st, seen = wait_run(last, 600)
            lb = st["last_backup"]
            last = lb["run"]
            if lb.get("result") != "ok":
                die("daemon: run %d ended %s: %s" % (i + 1, lb.get("result"), lb.get("error")))
            lat = seen - trigger
            sample = {"wall": round(lat, 3), "change_to_seen": round(seen - t_change, 3),
                      "wait": round(trigger - t_change, 3), "delay": DELAY_S, "run_duration": lb.get("duration"),
                      "entries": lb.get("entries"), "files_changed": lb.get("files_changed"),
                      "bytes_added": lb.get("bytes_added"), "full_scan": lb.get("full_scan"),
                      "cpu": None, "rss_kib": 0, "load": run_mod.loadavg()}
            b.record("daemon_10changed", "daemon: %d files, 10 changed, trigger (after-change "
                     "%d s) to run end" % (len(files), DELAY_S), coffre, sample)
            say("   run %d: %.3f s from the trigger (run's own duration %.3f s, %s entries "
                "examined, %s files changed)" % (i + 1, lat, lb.get("duration") or 0,
                                                 lb.get("entries"), lb.get("files_changed")))
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        log.close()


def evaluate(b, add):
    t = b.res["workloads"].get("daemon_10changed", {}).get("tools", {}).get("coffre")
    if not t:
        return
    s = t["samples"]
    add("daemon, 10 of %s files changed: trigger (change + after-change delay) to run end ≤ 0.2 s (median, s)" %
        b.res["meta"].get("daemon_files", "?"), t["wall"], 0.2,
        "runs: " + ", ".join("%.3f (run's own duration %.3f)" % (x["wall"], x["run_duration"] or 0)
                             for x in s))
