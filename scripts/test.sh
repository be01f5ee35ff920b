#!/usr/bin/env bash
# Quick start #2: installs what is missing, builds, and runs every test
# (Catch2 unit tests and the integration tests in real network namespaces),
# then the sanitizer build's tests (docs/sanitizers.md).
# .ci/run calls this script.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh

status=0
meson test -C build --print-errorlogs --num-processes 1 "$@" || status=$?
logs=build/meson-logs/testlog.json

# The sanitizer build (docs/sanitizers.md): clang with ASan and UBSan and
# libFuzzer's instrumentation, in build-san. Its unit tests, the fuzz targets
# replaying their committed inputs (docs/fuzzing.md) and one two-pod
# integration test must be clean: any sanitizer report fails. Opt-in for now
# (PODLANE_SANITIZERS=1): the clang build has not yet completed and passed on
# this 2-CPU machine within the suite's time budget, so CI does not run it.
if [ $# -eq 0 ] && [ "${PODLANE_SANITIZERS:-0}" != 0 ]; then
  if [ ! -f build-san/build.ninja ]; then
    CC=clang CXX=clang++ meson setup build-san -Dwerror=true -Dfuzzing=true -Db_sanitize=address,undefined \
      -Dbuildtype=debugoptimized -Db_lundef=false
  fi
  ninja -C build-san
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
  LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/sanitizers/lsan.supp} \
    meson test -C build-san --print-errorlogs --num-processes 1 --suite unit --suite fuzz --suite sanitized \
    || status=$?
  logs="$logs build-san/meson-logs/testlog.json"
fi

PODLANE_TEST_LOGS=$logs python3 - <<'PY'
import json
import os
passed = failed = skipped = 0
for log in os.environ["PODLANE_TEST_LOGS"].split():
    try:
        with open(log) as f:
            for line in f:
                r = json.loads(line)["result"]
                if r in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif r == "SKIP":
                    skipped += 1
                else:
                    failed += 1
    except FileNotFoundError:
        failed += 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
