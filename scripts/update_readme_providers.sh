#!/usr/bin/env bash
# Regenerates the provider table in README.md from the specs.
set -euo pipefail
cd "$(dirname "$0")/.."
table=$(cargo run -q --release -- providers --markdown)
python3 - "$table" <<'PY'
import sys
table = sys.argv[1] + "\n"
s = open("README.md").read()
a = s.index("<!-- providers:start -->\n") + len("<!-- providers:start -->\n")
b = s.index("<!-- providers:end -->")
open("README.md", "w").write(s[:a] + table + s[b:])
PY
