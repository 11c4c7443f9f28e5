#!/usr/bin/env bash
#===- test/layering/check_layers.sh - No library reaches above its layer --===#
#
# Usage: check_layers.sh NM LIB.a [BELOW.a...] [-- LIB.a [BELOW.a...]]...
# For each group: every Kiln symbol that LIB.a leaves undefined must be
# defined by LIB.a itself or by the archives below it. A symbol that only a
# higher layer defines is a layering break, whatever the link lines say.
#
#===----------------------------------------------------------------------===#
set -euo pipefail
NM="$1"; shift

defined() { "$NM" -C --defined-only "$@" 2>/dev/null |
              awk '$2 ~ /^[TWDBRVu]$/ { $1 = ""; $2 = ""; print substr($0, 3) }' | sort -u; }
undefined() { "$NM" -C -u "$1" 2>/dev/null | awk '{ $1 = ""; print substr($0, 2) }' |
                grep -E 'kiln|Kiln' | sort -u || true; }

status=0
check() {
  local lib="$1"
  local missing
  missing="$(comm -23 <(undefined "$lib") <(defined "$@"))"
  if [[ -n "$missing" ]]; then
    echo "$(basename "$lib") needs symbols from above its layer:"
    sed 's/^/  /' <<<"$missing" | head -20
    status=1
  else
    echo "$(basename "$lib"): ok ($(($# - 1)) archives below)"
  fi
}

group=()
for arg in "$@" --; do
  if [[ "$arg" == -- ]]; then
    ((${#group[@]})) && check "${group[@]}"
    group=()
  else
    group+=("$arg")
  fi
done
exit $status
