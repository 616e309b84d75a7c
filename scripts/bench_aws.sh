#!/usr/bin/env bash
# Part of `make bench`: `cloud502 aws` against AWS CLI v1 on the same moto_server, in the same run.
# cloud502 diagnoses one target group end to end (target health, attributes, listener rules,
# CloudWatch metrics, CloudWatch Logs and S3 access logs, security groups); AWS CLI v1 (PyPI
# awscli, in ./.venv-bench) runs the four equivalent reads one after the other
# (describe-target-groups, describe-target-health, describe-load-balancer-attributes,
# filter-log-events), and, apart, one describe-target-health. Interleaved runs; prints the median
# and best wall time of each, the ratios, and the HTTP requests each made (counted in moto's log).
#
#   BENCH_AWS_RUNS=7       runs of each (default 7)
#   CLOUD502_BIN=path      measure this binary instead of building target/release/cloud502
#   CLOUD502_PYTHON=path   a Python with moto (default ./.venv/bin/python3, else python3)
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${BENCH_AWS_RUNS:-7}"

if [ -n "${CLOUD502_BIN:-}" ]; then
    BIN="$CLOUD502_BIN"
else
    cargo build --release -q -p cloud502-cli
    BIN=target/release/cloud502
fi
"$BIN" aws --help >/dev/null 2>&1 || { echo "bench_aws: $BIN has no \`aws\` command (stale build?)" >&2; exit 1; }

# The Python that has moto, as tests/src/moto.rs picks it.
if [ -n "${CLOUD502_PYTHON:-}" ]; then
    PY="$CLOUD502_PYTHON"
elif [ -x .venv/bin/python3 ]; then
    PY=.venv/bin/python3
else
    PY=python3
fi
"$PY" -c 'import moto.server, boto3' >/dev/null 2>&1 || { echo "bench_aws: $PY lacks moto: run \`make setup\`" >&2; exit 1; }

# AWS CLI v1 from PyPI in its own venv (reproducible); the machine's `aws` if that install fails.
AWS=.venv-bench/bin/aws
if [ ! -x "$AWS" ]; then
    echo "bench_aws: installing AWS CLI v1 (PyPI awscli) into .venv-bench" >&2
    if ! { python3 -m venv .venv-bench >/dev/null 2>&1 \
           && .venv-bench/bin/pip install -q --disable-pip-version-check awscli >/dev/null 2>&1; }; then
        AWS="$(command -v aws || true)"
        [ -n "$AWS" ] || { echo "bench_aws: cannot install awscli and no \`aws\` on PATH" >&2; exit 1; }
        echo "bench_aws: pip install failed; using $AWS" >&2
    fi
fi

TMP="$(mktemp -d)"
MOTO_PID=""
cleanup() {
    if [ -n "$MOTO_PID" ]; then kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
EP="http://127.0.0.1:$PORT"
# moto's werkzeug writes one line per HTTP request on stderr: that is the request count.
"$PY" -m moto.server -H 127.0.0.1 -p "$PORT" >/dev/null 2>"$TMP/moto.log" </dev/null &
MOTO_PID=$!
python3 - "$PORT" "$MOTO_PID" <<'PY'
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
            sys.exit("bench_aws: moto_server exited at start")
        if time.monotonic() > deadline:
            sys.exit("bench_aws: moto_server did not start in 30 s")
        time.sleep(0.1)
PY
"$PY" tests/aws/scenario.py "$EP" incident > "$TMP/scenario.json"

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ENDPOINT_URL CLOUD502_LOG

python3 - "$RUNS" "$BIN" "$AWS" "$EP" "$TMP" <<'PY'
import json, re, statistics, subprocess, sys, time
runs, binary, aws, ep, tmp = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
sc = json.load(open(f"{tmp}/scenario.json"))
tg, lb, group, region = sc["tg_arn"], sc["lb_arn"], sc["log_group"], sc["region"]
common = ["--endpoint-url", ep, "--region", region]
cloud502 = [[binary, "aws", "--tg", tg, *common, "--log-group", group, "-o", "json"]]
aws4 = [
    [aws, "elbv2", "describe-target-groups", "--target-group-arns", tg, *common],
    [aws, "elbv2", "describe-target-health", "--target-group-arn", tg, *common],
    [aws, "elbv2", "describe-load-balancer-attributes", "--load-balancer-arn", lb, *common],
    [aws, "logs", "filter-log-events", "--log-group-name", group, "--filter-pattern", '"502"', *common],
]
dth = [aws4[1]]
request = re.compile(r'"[A-Z]+ \S+ HTTP/[0-9.]+" \d{3} ')

def requests_so_far():
    # werkzeug logs after it answers: wait until the count stops moving.
    last, stable = -1, 0
    while stable < 3:
        n = sum(1 for l in open(f"{tmp}/moto.log", errors="replace") if request.search(l))
        stable = stable + 1 if n == last else 0
        last = n
        time.sleep(0.05)
    return last

def run(argv_list, ok=(0,)):
    t = time.perf_counter()
    for argv in argv_list:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode not in ok:
            sys.exit(f"bench_aws: {' '.join(argv[:3])} exited {p.returncode}: {p.stderr.decode()[-500:]}")
    return time.perf_counter() - t, p.stdout

# cloud502 exits 1 here: the incident scenario has warning and critical findings.
C502_OK = (0, 1)
# Warm-up (moto's first answers are slower), counting each side's HTTP requests on the way.
n0 = requests_so_far()
_, out = run(cloud502, C502_OK)
n1 = requests_so_far()
run(aws4)
n2 = requests_so_far()
report = json.loads(out)
codes = ", ".join(f"{f['code']} ({f['severity']})" for f in report["findings"])

times = {"cloud502": [], "aws4": [], "dth": []}
for _ in range(runs):
    times["cloud502"].append(run(cloud502, C502_OK)[0])
    times["aws4"].append(run(aws4)[0])
    times["dth"].append(run(dth)[0])
med = {k: statistics.median(v) for k, v in times.items()}
best = {k: min(v) for k, v in times.items()}
ver = subprocess.run([aws, "--version"], capture_output=True, text=True)
ver = (ver.stdout or ver.stderr).split()[0]

print(f"AWS: one target group on moto_server ({ep}), {ver} ({aws}); median / best of {runs} interleaved runs")
print(f"  {'cloud502 aws (whole diagnosis)':<40} {med['cloud502'] * 1000:7.0f} ms / {best['cloud502'] * 1000:7.0f} ms"
      f"  {n1 - n0} HTTP requests; verdict {report['verdict']}: {codes}")
print(f"  {'aws cli: 4 equivalent calls':<40} {med['aws4'] * 1000:7.0f} ms / {best['aws4'] * 1000:7.0f} ms"
      f"  {n2 - n1} HTTP requests (4 processes)")
print(f"  {'aws cli: describe-target-health alone':<40} {med['dth'] * 1000:7.0f} ms / {best['dth'] * 1000:7.0f} ms")
print(f"ratios (median): the 4 AWS CLI calls take {med['aws4'] / med['cloud502']:.1f}x cloud502's whole diagnosis; "
      f"one describe-target-health takes {med['dth'] / med['cloud502']:.1f}x "
      f"(cloud502 = {med['cloud502'] / med['dth'] * 100:.0f}% of one call)")
PY
