#!/usr/bin/env bash
# Quick start #2: installs what is missing, builds, and runs every test
# (Catch2 unit tests and the integration tests in real network namespaces).
# .ci/run calls this script.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh

status=0
meson test -C build --print-errorlogs --num-processes 1 "$@" || status=$?

# One closing line a CI reader can count: "N passed, N failed".
python3 - <<'PY'
import json
passed = failed = skipped = 0
try:
    with open("build/meson-logs/testlog.json") as f:
        for line in f:
            r = json.loads(line)["result"]
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:
                failed += 1
except FileNotFoundError:
    failed = 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
