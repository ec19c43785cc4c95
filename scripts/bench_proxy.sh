#!/usr/bin/env bash
# Load benchmark of `switchboard serve` (not run in CI): the proxy's
# overhead over a fast local mock upstream.
#
#   scripts/bench_proxy.sh            # 10 s per run
#   DURATION=30 scripts/bench_proxy.sh
#   WORKERS=1 scripts/bench_proxy.sh  # one serving thread
#
# Builds release, starts examples/mock_upstream.rs and `switchboard serve`
# pointing at it (both on 127.0.0.1), drives load with wrk (Debian:
# `apt-get install -y wrk`), and prints requests/s and p50/p99 latency
# direct-to-mock vs through the proxy at concurrency 1 and 32, time to
# first byte of a stream (curl), and the proxy's RSS from /proc. Concurrency
# 1 runs twice: spread over the cores as the scheduler likes, and with wrk,
# mock and proxy all on one core (taskset), which takes the cost of waking
# another CPU out of the chain.
# The "messages" rows send the same prompt through the Anthropic Messages
# front door (POST /v1/messages, mapped to chat and back), to compare its
# added latency with chat's. MESSAGES=0 leaves them out.
# Needs: cargo, wrk, curl. Ports: MOCK_PORT (9100), PROXY_PORT (9101).
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
MOCK_PORT=${MOCK_PORT:-9100}
PROXY_PORT=${PROXY_PORT:-9101}
TTFB_SAMPLES=${TTFB_SAMPLES:-50}
WORKERS=${WORKERS:-0} # proxy serving threads; 0: one per core
MESSAGES=${MESSAGES:-1}
for tool in wrk curl cargo; do
    command -v "$tool" >/dev/null || { echo "bench_proxy: $tool not found" >&2; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

echo "building release binaries..." >&2
cargo build --release --quiet --bin switchboard --example mock_upstream
target=${CARGO_TARGET_DIR:-target}

"$target/release/examples/mock_upstream" "127.0.0.1:$MOCK_PORT" 2>"$work/mock.log" &
pids+=($!)

cat >"$work/proxy.toml" <<EOF
[server]
host = "127.0.0.1"
port = $PROXY_PORT
workers = $WORKERS

[router]
retries = 0

[[deployments]]
group = "bench"
model = "openai/gpt-4o-mini"
api-key = "mock-no-real-key"
api-base = "http://127.0.0.1:$MOCK_PORT/v1"
EOF
env -u SWITCHBOARD_MASTER_KEY "$target/release/switchboard" serve --config "$work/proxy.toml" \
    2>"$work/proxy.log" &
proxy_pid=$!
pids+=("$proxy_pid")

wait_for() { # url
    for _ in $(seq 100); do
        curl -s -o /dev/null -X POST -H 'content-type: application/json' \
            -d '{"model":"bench","messages":[{"role":"user","content":"hi"}]}' "$1" && return 0
        sleep 0.1
    done
    echo "bench_proxy: nothing answers at $1" >&2
    cat "$work/mock.log" "$work/proxy.log" >&2
    exit 1
}
direct="http://127.0.0.1:$MOCK_PORT/v1/chat/completions"
proxied="http://127.0.0.1:$PROXY_PORT/v1/chat/completions"
messages="http://127.0.0.1:$PROXY_PORT/v1/messages"
wait_for "$direct"
wait_for "$proxied"

cat >"$work/post.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"bench","messages":[{"role":"user","content":"Say hello."}]}'
EOF
cat >"$work/messages.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["anthropic-version"] = "2023-06-01"
wrk.body = '{"model":"bench","max_tokens":256,"messages":[{"role":"user","content":"Say hello."}]}'
EOF

# Prints "rps p50 p99" for one wrk run; a third argument runs wrk under
# that command (taskset).
run_wrk() { # url connections [wrapper...]
    local url=$1 conns=$2
    shift 2
    local threads=$(( conns < 2 ? 1 : 2 ))
    local script=$work/post.lua
    [ "$url" = "$messages" ] && script=$work/messages.lua
    "$@" wrk -t"$threads" -c"$conns" -d"${DURATION}s" --latency -s "$script" "$url" >"$work/wrk.out"
    awk '
        /Requests\/sec:/ { rps = $2 }
        /^ +50%/ { p50 = $2 }
        /^ +99%/ { p99 = $2 }
        /Non-2xx/ { bad = $NF }
        END { printf "%s %s %s %s\n", rps, p50, p99, (bad == "" ? 0 : bad) }
    ' "$work/wrk.out"
}

# Median and p90 of curl's time to first byte over TTFB_SAMPLES streams, in ms.
ttfb() { # url
    for _ in $(seq "$TTFB_SAMPLES"); do
        curl -s -o /dev/null -w '%{time_starttransfer}\n' -X POST \
            -H 'content-type: application/json' \
            -d '{"model":"bench","stream":true,"messages":[{"role":"user","content":"hi"}]}' "$1"
    done | sort -n | awk '{ v[NR] = $1 * 1000 } END {
        printf "%.2f %.2f\n", v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)] }'
}

rss() { awk -v k="$1:" '$1 == k { print $2 / 1024 " MiB" }' "/proc/$proxy_pid/status"; }

echo "cores: $(nproc) (shared with whatever else runs here); ${DURATION}s per run"
echo "proxy RSS at start: $(rss VmRSS)"
printf '\n%-8s %-6s %12s %10s %10s %8s\n' target conc 'req/s' p50 p99 non-2xx
targets="direct proxied"
[ "$MESSAGES" = 1 ] && targets="$targets messages"
for conc in 1 32; do
    for which in $targets; do
        url=$direct
        [ "$which" = proxied ] && url=$proxied
        [ "$which" = messages ] && url=$messages
        read -r rps p50 p99 bad < <(run_wrk "$url" "$conc")
        printf '%-8s %-6s %12s %10s %10s %8s\n' "$which" "$conc" "$rps" "$p50" "$p99" "$bad"
    done
done

# Concurrency 1 is a chain (wrk -> proxy -> mock and back) with one process
# awake at a time. Spread over cores, every hand-over wakes a sleeping CPU,
# which on a virtual machine costs tens of microseconds and dominates the
# tail. On one core the same chain measures the processes' own work.
if command -v taskset >/dev/null && [ "$(nproc)" -gt 1 ]; then
    one=$(( $(nproc) - 1 ))
    for pid in "${pids[@]}"; do taskset -a -cp "$one" "$pid" >/dev/null; done
    for which in $targets; do
        url=$direct
        [ "$which" = proxied ] && url=$proxied
        [ "$which" = messages ] && url=$messages
        read -r rps p50 p99 bad < <(run_wrk "$url" 1 taskset -c "$one")
        printf '%-8s %-6s %12s %10s %10s %8s\n' "$which" "1, 1cpu" "$rps" "$p50" "$p99" "$bad"
    done
    for pid in "${pids[@]}"; do taskset -a -cp "0-$one" "$pid" >/dev/null; done
fi

echo
echo "stream time to first byte (ms, $TTFB_SAMPLES streams, mock chunks 5 ms apart):"
read -r d50 d90 < <(ttfb "$direct")
read -r p50 p90 < <(ttfb "$proxied")
printf '  direct  p50 %s  p90 %s\n  proxied p50 %s  p90 %s\n' "$d50" "$d90" "$p50" "$p90"

echo
echo "proxy RSS after load: $(rss VmRSS) (peak $(rss VmHWM))"
echo "proxy metrics sample:"
curl -s "http://127.0.0.1:$PROXY_PORT/metrics" | grep -E '^switchboard_requests_total' | head -5
