#!/bin/sh
# Compile-time benchmark: a generated 5,000-line .flow program.
# Target (issue 2): under 200 ms on the CI machine.
set -e
EFC=${1:-build/efc}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
sh "$(dirname "$0")/gen_flow.sh" 5000 > "$TMP/big.flow"
lines=$(wc -l < "$TMP/big.flow")
"$EFC" compile "$TMP/big.flow" -o "$TMP/out" >/dev/null
rules=$(grep -c '"Name"' "$TMP/out/rules.json")
runs=10
best=999999
total=0
i=0
while [ $i -lt $runs ]; do
  start=$(date +%s%N)
  "$EFC" compile "$TMP/big.flow" -o "$TMP/out" >/dev/null
  end=$(date +%s%N)
  ms=$(( (end - start) / 1000000 ))
  total=$((total + ms))
  [ $ms -lt $best ] && best=$ms
  i=$((i + 1))
done
check_ms=$( start=$(date +%s%N); "$EFC" check "$TMP/big.flow"; end=$(date +%s%N); echo $(( (end - start) / 1000000 )) )
echo "compile: $lines lines, $rules rules, $(stat -c %s "$TMP/out/big.efb") bytes of bytecode"
echo "efc compile: best ${best} ms, mean $((total / runs)) ms over $runs runs (target < 200 ms)"
echo "efc check:   ${check_ms} ms"
echo "lines/s:     $(( lines * 1000 / (best > 0 ? best : 1) ))"
