#!/usr/bin/env bash
# Instructions a record of `lexnis batch`, counted by valgrind's cachegrind: the
# same count on every run of a binary (within about 100 of 28,000, from how the
# reader's chunks fall), where wall time on this machine varies by up to 50%
# within minutes. Use it to compare two builds; judge speed by the throughput
# bench (`cargo bench --bench throughput`), which times what users run.
#
#   benches/instructions.sh [--trace none|compact|full] [--records N] BINARY...
#
# Each BINARY evaluates the same N records (default 3,000, generated with seed 7)
# with one worker; the count of a run over no records is taken off, so that
# compiling the rules and starting the threads do not count.
set -euo pipefail
trace=none
records=3000
while [[ $# -gt 0 && $1 == --* ]]; do
  case $1 in
    --trace) trace=$2; shift 2 ;;
    --records) records=$2; shift 2 ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
done
if [[ $# -eq 0 ]]; then
  echo "usage: $0 [--trace none|compact|full] [--records N] BINARY..." >&2
  exit 2
fi
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$1" generate --count "$records" --seed 7 --as-of 2025-06-01 --out "$work/records.jsonl"
: > "$work/none.jsonl"
count() { # BINARY FILE -> instructions
  RUST_BACKTRACE=0 valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
    "$1" batch --facts "$2" --as-of 2025-06-01 --trace "$trace" --jobs 1 2>&1 >/dev/null |
    awk '/I *refs/ { gsub(",", "", $NF); print $NF }'
}
for binary in "$@"; do
  all=$(count "$binary" "$work/records.jsonl")
  none=$(count "$binary" "$work/none.jsonl")
  echo "$binary: $(( (all - none) / records )) instructions a record (trace $trace, $records records)"
done
