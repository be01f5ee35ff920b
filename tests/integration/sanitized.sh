#!/usr/bin/env bash
# Runs an integration test (its script and arguments) with binaries built
# with AddressSanitizer and UndefinedBehaviorSanitizer
# (b_sanitize=address,undefined; docs/sanitizers.md), and fails if any of
# their processes (podlaned, the CLI) reported an error or a leak, even one
# that did not change the test's outcome. The reports go to files, one per
# process, shown here.
set -euo pipefail
reports=$(mktemp -d /tmp/podlane-sanitizers.XXXXXX)
trap 'rm -rf "$reports"' EXIT
here=$(cd "$(dirname "$0")/.." && pwd)
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:abort_on_error=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$here/sanitizers/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

status=0
"$@" || status=$?
shopt -s nullglob
found=("$reports"/*)
if [ ${#found[@]} -gt 0 ]; then
  for f in "${found[@]}"; do echo "==== sanitizer report $(basename "$f") ===="; cat "$f"; done
  echo "sanitized: ${#found[@]} sanitizer report(s)" >&2
  exit 1
fi
[ $status -eq 0 ] && echo "sanitized: no sanitizer reports"
exit $status
