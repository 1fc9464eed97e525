#!/usr/bin/env bash
# Lay out the C and C++ sources as .clang-format says.
#
#   scripts/format.sh           # rewrite the files in place
#   scripts/format.sh --check   # change nothing; list what differs, exit 1 if any
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || scripts/setup.sh >/dev/null
mapfile -t files < <(git ls-files '*.c' '*.h' '*.cc')
case "${1:-}" in
  "") clang-format -i "${files[@]}" ;;
  --check)
    bad=()
    for f in "${files[@]}"; do
      clang-format "$f" | cmp -s - "$f" || bad+=("$f")
    done
    if ((${#bad[@]})); then
      echo "format: not laid out as .clang-format says (scripts/format.sh fixes them):" >&2
      printf '  %s\n' "${bad[@]}" >&2
      exit 1
    fi ;;
  *) sed -n '2,5p' "$0"; exit 2 ;;
esac
