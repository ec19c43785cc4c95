#!/usr/bin/env bash
# The proxy's work per request in CPU instructions, counted by callgrind:
# unlike wall-clock latency, the count does not move when other processes
# share the machine, so two builds compare on a busy machine too.
#
#   scripts/bench_instructions.sh                  # this checkout
#   BIN=/other/checkout/target/release/switchboard scripts/bench_instructions.sh
#   KEEP=/tmp/cg scripts/bench_instructions.sh     # keep the profiles
#
# Starts examples/mock_upstream.rs and `switchboard serve` (one worker
# thread, under valgrind) on 127.0.0.1, sends REQUESTS chat requests (JSON,
# then streamed) one at a time over one kept-alive connection, and prints
# the proxy's user-space instructions per request: (run with WARMUP + N
# requests − run with WARMUP) / N. The warm-up requests (20 of each kind)
# take one-off work out of the figure: the serving thread's HTTP client and
# its root certificates are made at its first call. Needs valgrind and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=${REQUESTS:-2000}
WARMUP=${WARMUP:-20}
MOCK_PORT=${MOCK_PORT:-9110}
PROXY_PORT=${PROXY_PORT:-9111}
command -v valgrind >/dev/null || { echo "bench_instructions: valgrind not found" >&2; exit 1; }

target=${CARGO_TARGET_DIR:-target}
if [ -z "${BIN:-}" ]; then
    cargo build --release --quiet --bin switchboard --example mock_upstream
    BIN="$target/release/switchboard"
fi
MOCK=${MOCK:-$target/release/examples/mock_upstream}

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

"$MOCK" "127.0.0.1:$MOCK_PORT" 2>"$work/mock.log" &
pids+=($!)

cat >"$work/proxy.toml" <<EOF
[server]
host = "127.0.0.1"
port = $PROXY_PORT
workers = 1

[router]
retries = 0

[[deployments]]
group = "bench"
model = "openai/gpt-4o-mini"
api-key = "mock-no-real-key"
api-base = "http://127.0.0.1:$MOCK_PORT/v1"
EOF

# Instructions of one proxy run that answers WARMUP + $1 JSON and as many
# streamed requests.
count() { # requests
    local n=$1 out="$work/cg.$1"
    env -u SWITCHBOARD_MASTER_KEY valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$BIN" serve --config "$work/proxy.toml" 2>"$work/proxy.$n.log" &
    local pid=$!
    python3 - "$PROXY_PORT" "$((WARMUP + n))" <<'PY'
import http.client, json, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
for _ in range(600):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5); c.request("GET", "/health/liveliness")
        c.getresponse().read(); break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("the proxy did not start")
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
for stream in (False, True):
    body = json.dumps({"model": "bench", "stream": stream, "messages": [{"role": "user", "content": "Say hello."}]})
    for _ in range(n):
        c.request("POST", "/v1/chat/completions", body, {"content-type": "application/json"})
        r = c.getresponse(); r.read()
        assert r.status == 200, r.status
PY
    kill -TERM "$pid"
    wait "$pid" || true
    awk '/^summary:/ { print $2 }' "$out"
}

base=$(count 0)
loaded=$(count "$REQUESTS")
# KEEP=dir keeps the callgrind profiles (for callgrind_annotate).
if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp "$work"/cg.* "$KEEP"/; fi
echo "proxy instructions per request (JSON + stream pair, averaged): $(( (loaded - base) / (2 * REQUESTS) ))"
echo "  ($REQUESTS JSON + $REQUESTS streamed requests after $WARMUP of each; startup, warm-up and shutdown: $base)"
