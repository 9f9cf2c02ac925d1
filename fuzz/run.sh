#!/bin/sh
# fuzz/run.sh NAME BUILD SECONDS MAX_LEN — one libFuzzer campaign (make fuzz).
# FUZZ_FLAGS in the environment are passed on to libFuzzer (e.g.
# "-fork=1 -ignore_crashes=1" to go on after a crash).
# Works on a copy of the seeds (BUILD/work/NAME) so fuzz/corpus/ stays as
# committed, with the harness's dictionary, and puts what crashes in
# BUILD/crashes/NAME/ (then: minimize it, and keep it in fuzz/regress/NAME/,
# see docs/fuzzing.md).  Exits non-zero when the campaign found a crash.
set -e
name=$1 build=$2 seconds=$3 max_len=$4
bin=$build/fuzz/fuzz_$name
work=$build/work/$name
crashes=$build/crashes/$name
mkdir -p "$work" "$crashes"
[ -d "fuzz/corpus/$name" ] && cp -n "fuzz/corpus/$name"/* "$work"/ 2>/dev/null || true
dict=""
[ -f "fuzz/$name.dict" ] && dict="-dict=fuzz/$name.dict"
echo "fuzz: $name for ${seconds}s (max_len $max_len)"
# -rss_limit_mb: ASan's shadow plus the stages' windows stay far below it;
# -timeout: one input must not take 10 s (quadratic work is a finding).
"$bin" -max_total_time="$seconds" -max_len="$max_len" $dict -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 $FUZZ_FLAGS -artifact_prefix="$crashes/" "$work" > "$build/fuzz-$name.log" 2>&1 || true
# What the campaign reached (executions, cov:, ft:) and what went wrong.
grep -E 'cov:' "$build/fuzz-$name.log" | tail -1
grep -E '^(SUMMARY|==[0-9]+==ERROR|fuzz: broken guarantee)' "$build/fuzz-$name.log" | sort -u | head -20 || true
# A crash is a file in $crashes (libFuzzer's exit status says less in -fork mode).
if ls "$crashes"/* >/dev/null 2>&1; then
  echo "fuzz: $name: crashes in $crashes/ (log: $build/fuzz-$name.log)"
  ls "$crashes"
  exit 1
fi
