#!/usr/bin/env bash
# `make bench`: classify 1 GiB of mixed nginx error.log + access.log with cloud502, and count
# "upstream" in the same files with grep and ripgrep, in the same run. Prints throughput, peak RSS
# and ratios. BENCH_MIB=256 make bench for a quicker run; BENCH_DIR to keep the files elsewhere.
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

# best wall time (s) and peak RSS (KiB) of RUNS runs of a command
measure() {
    local best="" rss=0
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f "%e %M" -o "$DIR/.time" "$@" > "$DIR/.out" 2>/dev/null || true
        read -r t m < "$DIR/.time"
        if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $t < $best else 1)"; then best=$t; fi
        [ "$m" -gt "$rss" ] && rss=$m
    done
    echo "$best $rss"
}

read -r c_t c_m < <(measure "$BIN" logs "$DIR/error.log" "$DIR/access.log" --log-format "upstream=$FORMAT" -o json -q --fail-on never)
cp "$DIR/.out" "$DIR/report.json"
read -r g_t g_m < <(measure grep -c upstream "$DIR/error.log" "$DIR/access.log")
read -r r_t r_m < <(measure rg -c upstream "$DIR/error.log" "$DIR/access.log")

python3 - "$MB" "$c_t" "$c_m" "$g_t" "$g_m" "$r_t" "$r_m" "$DIR/report.json" <<'PY'
import json, sys
mb = float(sys.argv[1]); c_t, c_m, g_t, g_m, r_t, r_m = map(float, sys.argv[2:8])
report = json.load(open(sys.argv[8]))
lines = sum(l["lines"] for l in report["logs"]); matched = sum(l["matched"] for l in report["logs"])
def row(name, t, m, what):
    print(f"  {name:<28} {t:7.2f} s  {mb / t:8.0f} MB/s  peak RSS {m / 1024:7.1f} MiB  ({what})")
print(f"input: {mb:.0f} MB ({lines} lines, {matched} classified as upstream failures)")
row("cloud502 logs (classify)", c_t, c_m, "every line classified, grouped, timed")
row("grep -c upstream", g_t, g_m, "count only")
row("rg -c upstream", r_t, r_m, "count only")
print(f"ratios: cloud502 is {g_t / c_t:.2f}x grep's speed, {r_t / c_t:.2f}x ripgrep's; "
      f"peak RSS {c_m / 1024:.1f} MiB (target < 64 MiB)")
PY
