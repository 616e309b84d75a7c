#!/usr/bin/env bash
# `make bench`: classify 1 GiB of mixed nginx error.log + access.log with cloud502, and count
# "upstream" in the same files with grep and ripgrep, in the same run. Prints throughput, peak RSS
# and ratios. BENCH_MIB=256 make bench for a quicker run; BENCH_DIR to keep the files elsewhere.
# Then issue 19's two cases: a 512 MiB info-level error.log against `grep -c upstream` (wall and
# CPU ratios; BENCH_QUIET=0 skips it) and an ingress-nginx style nginx.conf of 3,000 servers read
# offline (MB/s, RSS, findings; BENCH_CONF=0 skips it).
# Then scripts/bench_aws.sh: `cloud502 aws` against AWS CLI v1 on one moto_server (BENCH_AWS=0 skips
# it; BENCH_AWS_RUNS, CLOUD502_BIN: see that script). Then scripts/bench_audit.sh: `cloud502 audit`
# over fleets of 100, 250 and 500 target groups on moto_server, and an AWS CLI v1 loop at 500
# (BENCH_AUDIT=0 skips it; BENCH_AUDIT_SIZES, BENCH_AUDIT_RUNS, BENCH_AUDIT_CLI: see that script).
set -euo pipefail
cd "$(dirname "$0")/.."

MIB="${BENCH_MIB:-1024}"
DIR="${BENCH_DIR:-target/bench-logs}"
RUNS="${BENCH_RUNS:-3}"

need() { command -v "$1" >/dev/null 2>&1; }
missing=()
need rg || missing+=(ripgrep)
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} (Debian)" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q "${missing[@]}" >/dev/null; }
fi

cargo build --release -q -p cloud502-cli
BIN=target/release/cloud502

if [ ! -f "$DIR/access.log" ] || [ "$(cat "$DIR/.mib" 2>/dev/null)" != "$MIB" ]; then
    python3 scripts/gen_logs.py "$DIR" "$MIB"
    echo "$MIB" > "$DIR/.mib"
fi
FORMAT="$(cat "$DIR/access.format")"
BYTES=$(( $(stat -c %s "$DIR/error.log") + $(stat -c %s "$DIR/access.log") ))
MB=$(python3 -c "print($BYTES / 1e6)")

# Warm the page cache so every tool reads from memory.
cat "$DIR/error.log" "$DIR/access.log" > /dev/null

# Interleaved runs (cloud502, grep, rg, cloud502, ...) so a noisy neighbour hits all three alike;
# the best wall time of each (perf_counter) and its peak RSS (wait4's ru_maxrss).
python3 - "$DIR" "$RUNS" "$MB" "$BIN" "$FORMAT" <<'PY'
import json, subprocess, sys, time
d, runs, mb, binary, fmt = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
files = [f"{d}/error.log", f"{d}/access.log"]
cmds = {
    "cloud502 logs (classify)": [binary, "logs", *files, "--log-format", f"upstream={fmt}", "-o", "json", "-q", "--fail-on", "never"],
    "grep -c upstream": ["grep", "-c", "upstream", *files],
    "rg -c upstream": ["rg", "-c", "upstream", *files],
}
best = {k: (float("inf"), 0) for k in cmds}
report = None
for _ in range(runs):
    for name, argv in cmds.items():
        out = open(f"{d}/.out", "w")
        t = time.perf_counter()
        # GNU time reports the command's own peak RSS (a forked Python would count its own pages).
        p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", f"{d}/.rss", *argv], stdout=out, stderr=subprocess.DEVNULL)
        p.wait()
        wall = time.perf_counter() - t
        out.close()
        rss_kib = int(open(f"{d}/.rss").read().split()[-1])
        if name.startswith("cloud502") and report is None:
            report = json.load(open(f"{d}/.out"))
        best[name] = (min(best[name][0], wall), max(best[name][1], rss_kib))
lines = sum(l["lines"] for l in report["logs"]); matched = sum(l["matched"] for l in report["logs"])
print(f"input: {mb:.0f} MB in 2 files ({lines} lines, {matched} classified as upstream failures); best of {runs} interleaved runs")
what = {"cloud502 logs (classify)": "every line classified, grouped, timed; JSON report",
        "grep -c upstream": "count only", "rg -c upstream": "count only, memory-mapped"}
for name, (t, rss) in best.items():
    print(f"  {name:<26} {t:6.3f} s  {mb / t:7.0f} MB/s  peak RSS {rss / 1024:7.1f} MiB  ({what[name]})")
c, g, r = (best[k][0] for k in cmds)
print(f"ratios: cloud502 runs at {g / c:.2f}x grep's speed and {r / c:.2f}x ripgrep's; "
      f"peak RSS {best['cloud502 logs (classify)'][1] / 1024:.1f} MiB (target: >= 1.00x grep, < 64 MiB)")
PY

# Issue 19's case: one 512 MiB error.log of mostly info/notice lines, about 3% upstream failures
# (BENCH_QUIET_MIB to change the size, BENCH_QUIET=0 to skip). cloud502 against `grep -c upstream`,
# wall time and CPU time (user+sys, both threads, from wait4 on each run), peak RSS (GNU time).
# grep writes to a file: with its output on /dev/null GNU grep stops at the first match.
if [ "${BENCH_QUIET:-1}" != 0 ]; then
    echo
    QMIB="${BENCH_QUIET_MIB:-512}"
    QDIR="${BENCH_QUIET_DIR:-target/bench-quiet}"
    if [ ! -f "$QDIR/error.log" ] || [ "$(cat "$QDIR/.mib" 2>/dev/null)" != "$QMIB" ]; then
        python3 scripts/gen_logs.py --quiet-error "$QDIR/error.log" "$QMIB"
        echo "$QMIB" > "$QDIR/.mib"
    fi
    cat "$QDIR/error.log" > /dev/null
    python3 - "$QDIR" "$RUNS" "$BIN" <<'PY'
import json, os, subprocess, sys, time
d, runs, binary = sys.argv[1], int(sys.argv[2]), sys.argv[3]
log = f"{d}/error.log"
mb = os.path.getsize(log) / 1e6
cmds = {
    "cloud502 logs": [binary, "logs", log, "-o", "json", "-q", "--fail-on", "never"],
    "grep -c upstream": ["grep", "-c", "upstream", log],
}
best = {k: [float("inf"), float("inf"), 0] for k in cmds}
report = None
for _ in range(runs):
    for name, argv in cmds.items():
        with open(f"{d}/.out", "w") as out:
            t = time.perf_counter()
            p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", f"{d}/.rss", *argv], stdout=out, stderr=subprocess.DEVNULL)
            _, _, ru = os.wait4(p.pid, 0)
            wall = time.perf_counter() - t
        cpu = ru.ru_utime + ru.ru_stime
        rss = int(open(f"{d}/.rss").read().split()[-1])
        b = best[name]
        best[name] = [min(b[0], wall), min(b[1], cpu), max(b[2], rss)]
        if name == "cloud502 logs" and report is None:
            report = json.load(open(f"{d}/.out"))
lines = sum(l["lines"] for l in report["logs"]); matched = sum(l["matched"] for l in report["logs"])
grep_count = open(f"{d}/.out").read().strip()
print(f"quiet error.log: {mb:.0f} MB, {lines} lines, {matched} upstream failures (grep counts {grep_count} lines with 'upstream'); best of {runs} interleaved runs")
for name, (wall, cpu, rss) in best.items():
    print(f"  {name:<18} wall {wall:6.3f} s  cpu {cpu:6.3f} s  {mb / wall:6.0f} MB/s  peak RSS {rss / 1024:6.1f} MiB")
(cw, cc, cr), (gw, gc, _) = best["cloud502 logs"], best["grep -c upstream"]
print(f"ratios: grep's wall / cloud502's {gw / cw:.2f}x, grep's CPU / cloud502's {gc / cc:.2f}x; "
      f"peak RSS {cr / 1024:.1f} MiB (target: both ratios > 1.00x, RSS < 64 MiB)")
PY
fi

# Config reading: an nginx.conf as ingress-nginx writes it for 3,000 Ingress hosts
# (BENCH_CONF_SERVERS, BENCH_CONF=0 to skip), read and diagnosed offline (--no-probe). MB/s from
# the best wall time, peak RSS, and the findings, which must be none at warning or worse.
if [ "${BENCH_CONF:-1}" != 0 ]; then
    echo
    SERVERS="${BENCH_CONF_SERVERS:-3000}"
    CDIR="${BENCH_CONF_DIR:-target/bench-conf}"
    python3 scripts/gen_logs.py --ingress-conf "$CDIR/nginx.conf" "$SERVERS" >/dev/null
    python3 - "$CDIR" "$RUNS" "$BIN" "$SERVERS" <<'PY'
import json, os, subprocess, sys, time
d, runs, binary, servers = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
conf = f"{d}/nginx.conf"
mb = os.path.getsize(conf) / 1e6
argv = [binary, "nginx", "--config", conf, "--no-probe", "-o", "json"]
best = [float("inf"), float("inf"), 0]
report = None
for _ in range(runs):
    with open(f"{d}/.out", "w") as out:
        t = time.perf_counter()
        p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", f"{d}/.rss", *argv], stdout=out, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
    rss = int(open(f"{d}/.rss").read().split()[-1])
    best = [min(best[0], wall), min(best[1], ru.ru_utime + ru.ru_stime), max(best[2], rss)]
    if report is None:
        report = json.load(open(f"{d}/.out"))
bad = [f"{f['code']} ({f['severity']})" for f in report["findings"] if f["severity"] in ("warning", "critical")]
print(f"config: ingress-nginx style nginx.conf, {servers} servers, {mb:.1f} MB; best of {runs} runs")
print(f"  cloud502 nginx --config --no-probe  wall {best[0]:6.3f} s  cpu {best[1]:6.3f} s  {mb / best[0]:6.1f} MB/s  peak RSS {best[2] / 1024:6.1f} MiB")
print(f"  verdict {report['verdict']}, {len(report['findings'])} findings, {len(bad)} at warning or worse{': ' + ', '.join(sorted(set(bad))) if bad else ''}")
print(f"target: >= 50 MB/s ({mb / best[0]:.1f}), peak RSS < 128 MiB ({best[2] / 1024:.1f}), no warning-or-worse finding ({len(bad)})")
PY
fi

if [ "${BENCH_AWS:-1}" != 0 ]; then
    echo
    CLOUD502_BIN="${CLOUD502_BIN:-$BIN}" bash scripts/bench_aws.sh
fi

if [ "${BENCH_AUDIT:-1}" != 0 ]; then
    echo
    CLOUD502_BIN="${CLOUD502_BIN:-$BIN}" bash scripts/bench_audit.sh
fi
