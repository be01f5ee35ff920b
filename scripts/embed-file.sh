#!/bin/sh
# embed-file.sh INPUT OUTPUT SYMBOL: writes a C++ file defining SYMBOL as the
# text of INPUT (a raw string literal), so a binary carries its default config.
set -eu
in=$1 out=$2 sym=$3
ns=${sym%::*}
name=${sym##*::}
{
  echo "// Generated from $(basename "$in") by scripts/embed-file.sh; do not edit."
  echo "namespace $ns {"
  echo "extern const char* const $name;"
  echo "const char* const $name = R\"podlane_embed("
  cat "$in"
  echo ")podlane_embed\";"
  echo "}"
} > "$out"
