#!/usr/bin/env bash
# Bounded coverage-guided fuzzing of every fuzz target (docs/fuzzing.md):
#   scripts/fuzz.sh [-t SECONDS] [-r RUNS] [TARGET...]
# builds the libFuzzer binaries with clang into build-san (-Dfuzzing=true,
# ASan + UBSan: the sanitizer build scripts/test.sh also runs), then runs each target (all of tests/fuzz/ by default) for
# SECONDS (default 60) or RUNS executions, one job, starting from the
# committed seeds (tests/fuzz/corpus/<target>) and crash inputs
# (tests/fuzz/regressions/<target>). New inputs go to
# build-san/fuzz-corpus/<target> (kept between runs), crashes to
# build-san/fuzz-artifacts/<target>/. Prints executions, coverage and
# crashes per target; exits 1 if any target crashed.
#
# Not in the default test suite (11 targets x 60 s); the replay of the
# committed inputs is (meson test --suite fuzz, seconds).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60 runs=-1
while getopts "t:r:" opt; do
  case $opt in
    t) seconds=$OPTARG ;;
    r) runs=$OPTARG ;;
    *) echo "usage: scripts/fuzz.sh [-t SECONDS] [-r RUNS] [TARGET...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

if [ ! -f build-san/build.ninja ]; then
  CC=clang CXX=clang++ meson setup build-san -Dwerror=true -Dfuzzing=true -Db_sanitize=address,undefined \
    -Dbuildtype=debugoptimized -Db_lundef=false
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.cpp; do
    t=$(basename "$f" .cpp); t=${t#fuzz_}
    case $t in eal|node) continue ;; esac
    targets+=("$t")
  done
fi
ninja -C build-san "${targets[@]/#/tests/fuzz/fuzz_}"

# Leaks are checked (LeakSanitizer); UBSan findings stop the run like ASan's.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
# Targets that write files (cni_plugin, cni_pending) do it in a tmpfs.
export TMPDIR=${FUZZ_TMPDIR:-/dev/shm}

failed=0
printf "%-16s %12s %10s %8s %8s %s\n" target executions exec/s cov ft result
for t in "${targets[@]}"; do
  corpus=build-san/fuzz-corpus/$t artifacts=build-san/fuzz-artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  inputs=("$corpus" "tests/fuzz/corpus/$t")
  [ -d "tests/fuzz/regressions/$t" ] && inputs+=("tests/fuzz/regressions/$t")
  log=build-san/fuzz-$t.log
  result=ok
  build-san/tests/fuzz/fuzz_"$t" -max_total_time="$seconds" -runs="$runs" -timeout=10 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "${inputs[@]}" > "$log" 2>&1 || { result="CRASH (see $log)"; failed=1; }
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n1 | cut -d' ' -f2)
  printf "%-16s %12s %10s %8s %8s %s\n" "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$result"
done
exit $failed
