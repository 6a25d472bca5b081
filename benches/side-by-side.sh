#!/usr/bin/env bash
# Two builds of `lexnis batch` timed side by side, one on each of the machine's
# two cores, each with one worker: both go through the same minutes, where runs
# one after the other meet a machine whose speed moves by up to 50% within
# minutes. Prints each pair's wall times, then their means and ratio.
#
#   benches/side-by-side.sh [--trace none|compact] [--rounds N] FACTS A B
#
# FACTS is a JSON-lines file (`lexnis generate --count 100000 --seed 7 --out
# FACTS`); A and B are the two binaries. Count instructions too
# (benches/instructions.sh): they do not move with the machine.
set -euo pipefail
trace=none
rounds=8
while [[ $# -gt 0 && $1 == --* ]]; do
  case $1 in
    --trace) trace=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
done
if [[ $# -ne 3 ]]; then
  echo "usage: $0 [--trace none|compact] [--rounds N] FACTS A B" >&2
  exit 2
fi
facts=$1 a=$2 b=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
timed() { # BINARY -> seconds
  local start end
  start=$(date +%s.%N)
  "$1" batch --facts "$facts" --as-of 2025-06-01 --trace "$trace" --jobs 1 >/dev/null 2>&1
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
for _ in $(seq "$rounds"); do
  timed "$a" > "$work/a" &
  timed "$b" > "$work/b" &
  wait
  echo "$(cat "$work/a") $(cat "$work/b")"
done | tee "$work/pairs"
awk -v a="$a" -v b="$b" '{ x += $1; y += $2; n++; if ($2 < $1) faster++ }
  END { printf "mean %s %.3f s, %s %.3f s, ratio %.3f (B faster in %d of %d)\n", a, x / n, b, y / n, y / x, faster, n }' "$work/pairs"
