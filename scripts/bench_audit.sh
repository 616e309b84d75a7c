#!/usr/bin/env bash
# Part of `make bench`: `cloud502 audit` over a fleet of AWS target groups on moto_server, at
# several sizes, to show how the scheduled audit scales; then, at the largest size, a shell loop of
# AWS CLI v1 doing the same core reads per target group. For each size N: a fresh moto_server, the
# `fleet` scenario of tests/aws/scenario.py (N target groups of kind ip, two targets each, 25 per
# ALB, so 100 groups sit on 4 ALBs; each forwarded by a path rule), and an audit.toml with N aws
# subjects. One unmeasured
# warm-up run per size (it counts the requests by API operation), then BENCH_AUDIT_RUNS rounds
# interleaved across sizes (N1, N2, N3, N1, ...) so a noisy neighbour hits every size alike. Prints
# the median and best wall time, ms and API calls per target group (cloud502's own count, and
# moto's request log as a cross-check), how many subjects were inspected, the AWS CLI loop's figures,
# the ratio, and whether the per-target-group cost stays flat as N grows. Then one target group
# alone (`cloud502 aws --tg`) through a proxy that holds every request BENCH_AUDIT_RTT_MS before
# passing it to moto: the requests it makes and how many sequential round trips they take (a
# request's round is one more than the latest round that finished before it started).
#
#   BENCH_AUDIT_SIZES="100 250 500"   fleet sizes (default "100 250 500")
#   BENCH_AUDIT_RUNS=3                measured runs at each size (default 3)
#   BENCH_AUDIT_CONCURRENCY=8         the audit file's [audit] concurrency (default 8)
#   BENCH_AUDIT_CLI=0                 skip the AWS CLI loop (it takes many minutes at 500)
#   BENCH_AUDIT_CLI_SIZE=N            run the AWS CLI loop at this size (default the largest; must be
#                                     one of BENCH_AUDIT_SIZES)
#   BENCH_AUDIT_RTT_MS=200            the proxy's added latency for the round-trip count (default 200)
#   CLOUD502_BIN=path                 measure this binary instead of building target/release/cloud502
#   CLOUD502_PYTHON=path              a Python with moto (default ./.venv/bin/python3, else python3)
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES="${BENCH_AUDIT_SIZES:-100 250 500}"
RUNS="${BENCH_AUDIT_RUNS:-3}"
CONCURRENCY="${BENCH_AUDIT_CONCURRENCY:-8}"
read -r -a SIZE_LIST <<<"$SIZES"
[ ${#SIZE_LIST[@]} -gt 0 ] || { echo "bench_audit: BENCH_AUDIT_SIZES is empty" >&2; exit 1; }
for n in "${SIZE_LIST[@]}"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "bench_audit: size \`$n\` in BENCH_AUDIT_SIZES is not a positive integer" >&2; exit 1; }
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "bench_audit: BENCH_AUDIT_RUNS must be a positive integer" >&2; exit 1; }
[[ "$CONCURRENCY" =~ ^[1-9][0-9]*$ ]] || { echo "bench_audit: BENCH_AUDIT_CONCURRENCY must be a positive integer" >&2; exit 1; }
LARGEST="$(printf '%s\n' "${SIZE_LIST[@]}" | sort -n | tail -1)"
CLI="${BENCH_AUDIT_CLI:-1}"
CLI_SIZE="${BENCH_AUDIT_CLI_SIZE:-$LARGEST}"
if [ "$CLI" != 0 ] && ! printf '%s\n' "${SIZE_LIST[@]}" | grep -qx "$CLI_SIZE"; then
    echo "bench_audit: BENCH_AUDIT_CLI_SIZE=$CLI_SIZE is not one of BENCH_AUDIT_SIZES ($SIZES)" >&2
    exit 1
fi

if [ -n "${CLOUD502_BIN:-}" ]; then
    BIN="$CLOUD502_BIN"
else
    cargo build --release -q -p cloud502-cli
    BIN=target/release/cloud502
fi
"$BIN" audit --help >/dev/null 2>&1 || { echo "bench_audit: $BIN has no \`audit\` command (stale build?)" >&2; exit 1; }

# The Python that has moto, as tests/src/moto.rs picks it.
if [ -n "${CLOUD502_PYTHON:-}" ]; then
    PY="$CLOUD502_PYTHON"
elif [ -x .venv/bin/python3 ]; then
    PY=.venv/bin/python3
else
    PY=python3
fi
"$PY" -c 'import moto.server, boto3' >/dev/null 2>&1 || { echo "bench_audit: $PY lacks moto: run \`make setup\`" >&2; exit 1; }

# AWS CLI v1 from PyPI in its own venv (reproducible); the machine's `aws` if that install fails.
AWS=.venv-bench/bin/aws
if [ "$CLI" != 0 ] && [ ! -x "$AWS" ]; then
    echo "bench_audit: installing AWS CLI v1 (PyPI awscli) into .venv-bench" >&2
    if ! { python3 -m venv .venv-bench >/dev/null 2>&1 \
           && .venv-bench/bin/pip install -q --disable-pip-version-check awscli >/dev/null 2>&1; }; then
        AWS="$(command -v aws || true)"
        [ -n "$AWS" ] || { echo "bench_audit: cannot install awscli and no \`aws\` on PATH" >&2; exit 1; }
        echo "bench_audit: pip install failed; using $AWS" >&2
    fi
fi

TMP="$(mktemp -d)"
MOTO_PIDS=()
cleanup() {
    local pid
    for pid in "${MOTO_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ENDPOINT_URL CLOUD502_LOG CLOUD502_SHARD CLOUD502_WEBHOOK_URL

# moto's werkzeug writes one line per HTTP request on stderr: that is the request count. It logs
# after it answers, so wait until the count stops moving.
cat > "$TMP/moto_requests.py" <<'PY'
import re, sys, time
request = re.compile(r'"[A-Z]+ \S+ HTTP/[0-9.]+" \d{3} ')

def requests_so_far(log):
    last, stable = -1, 0
    while stable < 3:
        n = sum(1 for l in open(log, errors="replace") if request.search(l))
        stable = stable + 1 if n == last else 0
        last = n
        time.sleep(0.05)
    return last

if __name__ == "__main__":
    print(requests_so_far(sys.argv[1]))
PY

# Every size: its own fresh moto_server, its fleet, its audit.toml (setup, not measured).
for n in "${SIZE_LIST[@]}"; do
    D="$TMP/$n"
    [ ! -d "$D" ] || { echo "bench_audit: size $n given twice in BENCH_AUDIT_SIZES" >&2; exit 1; }
    mkdir -p "$D"
    PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    echo "http://127.0.0.1:$PORT" > "$D/endpoint"
    "$PY" -m moto.server -H 127.0.0.1 -p "$PORT" >/dev/null 2>"$D/moto.log" </dev/null &
    MOTO_PIDS+=($!)
    python3 - "$PORT" "$!" <<'PY'
import os, socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
deadline = time.monotonic() + 30
while True:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        break
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            sys.exit("bench_audit: moto_server exited at start")
        if time.monotonic() > deadline:
            sys.exit("bench_audit: moto_server did not start in 30 s")
        time.sleep(0.1)
PY
    echo "bench_audit: N=$n: building the fleet in moto_server on port $PORT (setup, not measured)" >&2
    t0=$(date +%s.%N)
    "$PY" tests/aws/scenario.py "$(cat "$D/endpoint")" fleet --count "$n" > "$D/scenario.json"
    python3 - "$D" "$CONCURRENCY" <<'PY'
import json, sys
d, concurrency = sys.argv[1], int(sys.argv[2])
sc = json.load(open(f"{d}/scenario.json"))
endpoint = open(f"{d}/endpoint").read().strip()
with open(f"{d}/audit.toml", "w") as f:
    f.write(f'[audit]\nconcurrency = {concurrency}\ndeadline = "2m"\n\n'
            f'[aws]\nendpoint_url = "{endpoint}"\nregion = "{sc["region"]}"\n')
    for i, tg in enumerate(sc["tg_arns"]):
        f.write(f'\n[[subject]]\nname = "tg-{i}"\nprovider = "aws"\ntg = "{tg}"\n')
# The AWS CLI loop's input: one "TG LB" pair a line.
with open(f"{d}/pairs", "w") as f:
    for tg, lb in zip(sc["tg_arns"], sc["tg_lbs"]):
        f.write(f"{tg} {lb}\n")
PY
    "$BIN" audit --config "$D/audit.toml" --check >/dev/null \
        || { echo "bench_audit: $BIN audit --check rejected $D/audit.toml" >&2; exit 1; }
    echo "bench_audit: N=$n: $(wc -l < "$D/pairs") target groups on $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["lb_arns"]))' "$D/scenario.json") ALB(s) in $(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)") s" >&2
done

# cloud502 audit: a warm-up per size, then RUNS rounds over the sizes. Exit codes 0, 1 (findings)
# and 3 (partial) are outcomes of a run; 2 and 4 are errors.
python3 - "$RUNS" "$BIN" "$TMP" "${SIZE_LIST[@]}" <<'PY'
import collections, json, re, subprocess, sys, time
sys.path.insert(0, sys.argv[3])
from moto_requests import requests_so_far

runs, binary, tmp, sizes = int(sys.argv[1]), sys.argv[2], sys.argv[3], [int(n) for n in sys.argv[4:]]
# The AWS SDK logs "beginning attempt #k" once per HTTP attempt (retries included), inside the span
# of the operation: the warm-up counts the requests by operation from that.
SDK_LOG = ",".join(["aws_smithy_runtime::client::orchestrator=debug"] + [
    f"aws_sdk_{c}=debug" for c in ("elasticloadbalancingv2", "ec2", "cloudwatch", "cloudwatchlogs", "s3")])
attempt = re.compile(r'rpc\.method="([A-Za-z0-9]+)".*beginning attempt #')

def audit(n, log_ops=False):
    argv = [binary, "audit", "--config", f"{tmp}/{n}/audit.toml", "-o", "json", "-q"]
    env = None
    if log_ops:
        import os
        env = dict(os.environ, CLOUD502_LOG=SDK_LOG, NO_COLOR="1")
    before = requests_so_far(f"{tmp}/{n}/moto.log")
    t = time.perf_counter()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    wall = time.perf_counter() - t
    moto = requests_so_far(f"{tmp}/{n}/moto.log") - before
    if p.returncode not in (0, 1, 3):
        sys.exit(f"bench_audit: N={n}: cloud502 audit exited {p.returncode}: {p.stderr.decode(errors='replace')[-800:]}")
    report = json.loads(p.stdout)
    subjects = report["subjects"]
    summaries = [s["report"]["summary"] for s in subjects]
    run = {
        "wall": wall,
        "rc": p.returncode,
        "sent": sum(r["sent"] for r in report["rollup"]["requests"]),
        "moto": moto,
        "subjects": len(subjects),
        "inspected": sum(1 for s in summaries if s["inspected"]),
        "partial": sum(1 for s in summaries if s["partial"]),
        "subject_codes": dict(sorted(collections.Counter(s["exit_code"] for s in summaries).items())),
        "self_ms": report["duration_ms"],
    }
    if log_ops:
        ops = collections.Counter(m.group(1) for l in p.stderr.decode(errors="replace").splitlines()
                                  if (m := attempt.search(l)))
        run["ops"] = dict(ops.most_common())
    return run

results = {n: {"warmup": None, "runs": []} for n in sizes}
for n in sizes:
    print(f"bench_audit: N={n}: warm-up run (counts requests by operation)", file=sys.stderr)
    results[n]["warmup"] = audit(n, log_ops=True)
for k in range(runs):
    for n in sizes:
        r = audit(n)
        results[n]["runs"].append(r)
        print(f"bench_audit: round {k + 1}/{runs}, N={n}: {r['wall']:.2f} s, exit {r['rc']}, "
              f"{r['sent']} requests", file=sys.stderr)
json.dump({str(n): v for n, v in results.items()}, open(f"{tmp}/audit.json", "w"))
PY

# One target group alone through a proxy adding a fixed latency: its sequential round trips.
RTT_MS="${BENCH_AUDIT_RTT_MS:-200}"
[[ "$RTT_MS" =~ ^[1-9][0-9]*$ ]] || { echo "bench_audit: BENCH_AUDIT_RTT_MS must be a positive integer" >&2; exit 1; }
D="$TMP/${SIZE_LIST[0]}"
cat > "$TMP/rtt_proxy.py" <<'PY'
# A loopback HTTP proxy in front of moto: every request waits RTT ms, then goes to moto; its start
# and end times are appended to a log as "start end" (seconds).
import http.client, http.server, sys, threading, time
upstream_port, rtt, log_path, port_file = int(sys.argv[1]), int(sys.argv[2]) / 1000, sys.argv[3], sys.argv[4]
lock = threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def relay(self):
        start = time.monotonic()
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(rtt)
        c = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
        c.request(self.command, self.path, body=body, headers={k: v for k, v in self.headers.items()})
        r = c.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        with lock, open(log_path, "a") as f:
            f.write(f"{start} {time.monotonic()}\n")
    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = relay
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(port_file, "w").write(str(s.server_address[1]))
s.serve_forever()
PY
UP_PORT="$(sed 's/.*://' "$D/endpoint")"
: > "$TMP/rtt.log"
python3 "$TMP/rtt_proxy.py" "$UP_PORT" "$RTT_MS" "$TMP/rtt.log" "$TMP/rtt.port" &
MOTO_PIDS+=("$!")
for _ in $(seq 1 50); do [ -s "$TMP/rtt.port" ] && break; sleep 0.1; done
[ -s "$TMP/rtt.port" ] || { echo "bench_audit: the round-trip proxy did not start" >&2; exit 1; }
TG0="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tg_arns"][0])' "$D/scenario.json")"
REGION0="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["region"])' "$D/scenario.json")"
echo "bench_audit: one target group alone through a proxy adding $RTT_MS ms a request" >&2
t0=$(date +%s.%N)
rc=0
"$BIN" aws --endpoint-url "http://127.0.0.1:$(cat "$TMP/rtt.port")" --region "$REGION0" --tg "$TG0" -o json -q >/dev/null 2>"$TMP/rtt.err" || rc=$?
t1=$(date +%s.%N)
[ "$rc" -le 3 ] && [ "$rc" -ne 2 ] || { echo "bench_audit: cloud502 aws --tg exited $rc: $(tail -c 800 "$TMP/rtt.err")" >&2; exit 1; }
sleep 0.3
python3 - "$TMP/rtt.log" "$t0" "$t1" "$RTT_MS" > "$TMP/rtt.json" <<'PY'
import json, sys
log, t0, t1, rtt = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
reqs = sorted(tuple(map(float, l.split())) for l in open(log) if l.strip())
rounds = []
for i, (start, end) in enumerate(reqs):
    before = [rounds[j] for j, (_, e) in enumerate(reqs[:i]) if e <= start]
    rounds.append(1 + max(before, default=0))
print(json.dumps({"requests": len(reqs), "rounds": max(rounds, default=0), "wall": t1 - t0, "rtt_ms": rtt}))
PY

# AWS CLI v1, one process per read as a script would, the same core reads per target group as
# cloud502's evidence: the target group, its health, its attributes, its load balancer's attributes.
if [ "$CLI" != 0 ]; then
    D="$TMP/$CLI_SIZE"
    EP="$(cat "$D/endpoint")"
    REGION="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["region"])' "$D/scenario.json")"
    echo "bench_audit: N=$CLI_SIZE: AWS CLI loop, 4 calls per target group (timed once; slow)" >&2
    before="$(python3 "$TMP/moto_requests.py" "$D/moto.log")"
    t0=$(date +%s.%N)
    i=0
    cli() {
        "$AWS" elbv2 "$@" --endpoint-url "$EP" --region "$REGION" >/dev/null 2>"$TMP/cli.err" </dev/null \
            || { echo "bench_audit: aws elbv2 $1 failed: $(tail -c 800 "$TMP/cli.err")" >&2; exit 1; }
    }
    while read -r tg lb; do
        cli describe-target-groups --target-group-arns "$tg"
        cli describe-target-health --target-group-arn "$tg"
        cli describe-target-group-attributes --target-group-arn "$tg"
        cli describe-load-balancer-attributes --load-balancer-arn "$lb"
        i=$((i + 1))
        if [ $((i % 50)) -eq 0 ]; then
            echo "bench_audit: AWS CLI loop: $i/$CLI_SIZE target groups, $(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.0f}')" "$t0" "$(date +%s.%N)") s" >&2
        fi
    done < "$D/pairs"
    t1=$(date +%s.%N)
    after="$(python3 "$TMP/moto_requests.py" "$D/moto.log")"
    ver="$("$AWS" --version 2>&1 | awk '{print $1}')"
    python3 - "$TMP/cli.json" "$CLI_SIZE" "$t0" "$t1" "$((after - before))" "$ver" "$AWS" <<'PY'
import json, sys
out, n, t0, t1, requests, ver, aws = sys.argv[1:]
json.dump({"n": int(n), "wall": float(t1) - float(t0), "requests": int(requests), "version": ver, "aws": aws},
          open(out, "w"))
PY
fi

python3 - "$TMP" "$RUNS" "$CONCURRENCY" "$BIN" <<'PY'
import json, os, statistics, sys
tmp, runs, concurrency, binary = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
results = {int(n): v for n, v in json.load(open(f"{tmp}/audit.json")).items()}
cli = json.load(open(f"{tmp}/cli.json")) if os.path.exists(f"{tmp}/cli.json") else None
sizes = sorted(results)

def spread(xs, fmt):
    lo, hi = min(xs), max(xs)
    return fmt(lo) if lo == hi else f"{fmt(lo)}-{fmt(hi)}"

med = {n: statistics.median(r["wall"] for r in results[n]["runs"]) for n in sizes}
best = {n: min(r["wall"] for r in results[n]["runs"]) for n in sizes}
print(f"Audit: N AWS target groups on moto_server (fleet scenario: 25 per ALB, kind ip, 2 targets each), "
      f"{binary}, concurrency {concurrency}; median / best of {runs} runs interleaved across sizes")
print(f"  {'N':>5}  {'median':>9}  {'best':>9}  {'ms/TG':>7}  {'API calls/TG (cloud502 / moto log)':>35}  "
      f"{'inspected':>9}  {'exit':>5}  subject exit codes")
for n in sizes:
    rs = results[n]["runs"]
    sent = spread([r["sent"] / n for r in rs], lambda x: f"{x:.2f}")
    moto = spread([r["moto"] / n for r in rs], lambda x: f"{x:.2f}")
    inspected = spread([r["inspected"] for r in rs], str)
    rc = spread([r["rc"] for r in rs], str)
    codes = ", ".join(f"{c}: {k}" for c, k in rs[-1]["subject_codes"].items())
    partial = max(r["partial"] for r in rs)
    extra = f"; {partial} partial" if partial else ""
    print(f"  {n:>5}  {med[n]:7.2f} s  {best[n]:7.2f} s  {med[n] / n * 1000:7.1f}  "
          f"{sent + ' / ' + moto:>35}  {inspected + '/' + str(n):>9}  {rc:>5}  {{{codes}}}{extra}")
    short = [r for r in rs if r["inspected"] != n or r["subjects"] != n]
    if short:
        print(f"         WARNING: N={n}: {len(short)} of {len(rs)} runs did not inspect every subject")
largest = sizes[-1]
ops = results[largest]["warmup"].get("ops") or {}
if ops:
    total = sum(ops.values())
    print(f"  calls per TG by operation (warm-up at N={largest}, {total} SDK attempts, "
          f"{results[largest]['warmup']['sent']} counted by cloud502, {results[largest]['warmup']['moto']} in moto's log): "
          + ", ".join(f"{op} {k / largest:.2f}" for op, k in ops.items()))

if cli:
    n = cli["n"]
    print(f"AWS CLI loop at N={n} ({cli['version']}, {cli['aws']}): 4 reads per TG, one process each "
          f"(describe-target-groups, describe-target-health, describe-target-group-attributes, "
          f"describe-load-balancer-attributes), timed once")
    print(f"  {n:>5}  {cli['wall']:7.2f} s  {cli['wall'] / n * 1000:7.1f} ms/TG  {cli['requests'] / n:.2f} API calls/TG (moto log)")
    print(f"ratio at N={n}: the AWS CLI loop takes {cli['wall'] / med[n]:.1f}x cloud502 audit's median "
          f"({cli['wall']:.1f} s vs {med[n]:.2f} s) making {cli['requests'] / n:.2f} calls per TG "
          f"to cloud502's {statistics.median(r['sent'] for r in results[n]['runs']) / n:.2f}")

rtt = json.load(open(f"{tmp}/rtt.json"))
print(f"one target group alone (cloud502 aws --tg, moto behind a proxy adding {rtt['rtt_ms']} ms a request): "
      f"{rtt['requests']} requests in {rtt['rounds']} sequential round trips, {rtt['wall']:.2f} s")

base = sizes[0]
for n in sizes[1:]:
    r = (med[n] / n) / (med[base] / base)
    verdict = "SUPERLINEAR (> 1.5x)" if r > 1.5 else "linear"
    print(f"linearity: per-TG cost at {n} vs {base}: {r:.2f}x: {verdict} "
          f"({med[n] / n * 1000:.1f} vs {med[base] / base * 1000:.1f} ms/TG, medians)")
if len(sizes) == 1:
    print("linearity: one size only, nothing to compare")
PY
