#!/usr/bin/env bash
# The property tests, run long (not in CI; `cargo test` runs each briefly).
#
#   scripts/fuzz.sh                 # 10,000 cases per property
#   CASES=100000 scripts/fuzz.sh    # longer
#
# Every property is a "never panics / always a typed answer / agrees with a
# reference" statement over input from outside: stream decoders (SSE,
# NDJSON, JSON array, AWS event stream) fed arbitrary bytes split anywhere;
# JSONPath (random paths and documents, the fast path against
# jsonpath-rust); the template compiler and renderer (random templates,
# hostile user text that must stay data in valid JSON); the spec loader and
# lint (mutated shipped specs, random spec-shaped TOML, arbitrary text); the
# proxy's body reader and request validation; budget reservations under
# random call sequences. A failure prints the shrunk input and proptest
# stores it under proptest-regressions/ so the next run starts with it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PROPTEST_CASES=${CASES:-10000}
echo "fuzz: $PROPTEST_CASES cases per property (release build)" >&2
start=$(date +%s)
cargo test --release --lib -- \
    engine::stream::props engine::stream::aws_eventstream jsonpath::tests \
    template::tests lint::tests server::http::tests server::accounts::limits
cargo test --release --test it -- invariants::
echo "fuzz: done in $(( $(date +%s) - start )) s" >&2
