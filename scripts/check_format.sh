#!/usr/bin/env bash
#===- scripts/check_format.sh - C, C++ and CMake formatting check ---------===#
#
# Checks the tracked C/C++ sources (.c .h .cpp .cu) against .clang-format with
# Debian's clang-format-22, and the CMake files (CMakeLists.txt, *.cmake)
# against .cmake-format.py with Debian's cmake-format. Prints each file that
# differs with the diff, and exits 1 if any does.
#
# Usage: bash scripts/check_format.sh [--fix] [--changed [BASE]] [FILE...]
#   --fix            rewrite the files instead of checking them
#   --changed [BASE] only the files changed since BASE (default HEAD: the
#                    uncommitted change), e.g. before a commit
#   FILE...          only these files
# The test command (scripts/test.sh, suite "format") checks every file.
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CLANG_FORMAT="${CLANG_FORMAT:-clang-format-22}"
CMAKE_FORMAT="${CMAKE_FORMAT:-cmake-format}"
fix=0 changed=0 base=HEAD files=()
while (($#)); do
  case "$1" in
    --fix) fix=1 ;;
    --changed)
      changed=1
      if [[ $# -gt 1 && "$2" != -* ]]; then base="$2"; shift; fi ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) echo "check_format: unknown option '$1'" >&2; exit 2 ;;
    *) files+=("$1") ;;
  esac
  shift
done

for tool in "$CLANG_FORMAT" "$CMAKE_FORMAT"; do
  command -v "$tool" >/dev/null ||
    { echo "check_format: $tool not found (bash scripts/setup.sh installs it)" >&2; exit 2; }
done

is_cxx() { [[ "$1" =~ \.(c|h|cpp|cu)$ ]]; }
is_cmake() { [[ "$1" =~ (^|/)CMakeLists\.txt$ || "$1" =~ \.cmake$ ]]; }

if ((${#files[@]} == 0)); then
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    if ((changed)); then
      mapfile -t files < <({ git diff --name-only --diff-filter=d "$base" --;
                             git ls-files --others --exclude-standard; } | sort -u)
    else
      mapfile -t files < <(git ls-files)
    fi
  else
    mapfile -t files < <(find . -path ./build\* -prune -o -path ./.venv\* -prune \
                           -o -type f -print | sed 's|^\./||')
  fi
fi

bad=0 checked=0
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
for f in "${files[@]}"; do
  [[ -f "$f" ]] || continue
  if is_cxx "$f"; then
    formatted="$("$CLANG_FORMAT" --style=file "$f")"
    if ((fix)); then "$CLANG_FORMAT" --style=file -i "$f"; fi
  elif is_cmake "$f"; then
    formatted="$("$CMAKE_FORMAT" "$f" -c .cmake-format.py)"
    if ((fix)); then "$CMAKE_FORMAT" -i "$f" -c .cmake-format.py; fi
  else
    continue
  fi
  checked=$((checked + 1))
  if ((!fix)) && ! diff -u --label "$f" --label "$f (formatted)" "$f" - <<<"$formatted" >"$report" 2>&1; then
    cat "$report"
    bad=$((bad + 1))
  fi
done
if ((fix)); then
  echo "check_format: formatted $checked files"
  exit 0
fi
echo "check_format: $checked files checked, $bad not formatted"
((bad == 0))
