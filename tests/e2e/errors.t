#!/usr/bin/env bash
# errors.t — the negative test suite: every tests/errors/NN-name.flow must
# fail `efc check` with exit status 1 and exactly the diagnostics in
# NN-name.expected (see tests/errors/README.md).
set -u
EFC=${EFC:-"$(pwd)/build/efc"}
dir=$(cd "$(dirname "$0")/../errors" && pwd)
cd "$dir" || exit 1

cases=(*.flow)
echo "1..${#cases[@]}"
n=0
failed=0
for flow in "${cases[@]}"; do
  n=$((n + 1))
  name=${flow%.flow}
  actual=$(mktemp)
  NO_COLOR=1 "$EFC" check "$flow" 2>"$actual" >/dev/null
  rc=$?
  problems=""
  if [ "$rc" -ne 1 ]; then
    problems="exit status $rc, expected 1"
  fi
  if [ ! -f "$name.expected" ]; then
    problems="${problems:+$problems; }$name.expected is missing"
  elif ! cmp -s "$name.expected" "$actual"; then
    problems="${problems:+$problems; }stderr differs from $name.expected"
  fi
  if [ -z "$problems" ]; then
    echo "ok $n - $name"
  else
    echo "not ok $n - $name"
    echo "# $problems"
    if [ -f "$name.expected" ]; then
      diff -u "$name.expected" "$actual" | sed 's/^/# /'
    else
      sed 's/^/# /' "$actual"
    fi
    failed=$((failed + 1))
  fi
  rm -f "$actual"
done
exit $((failed > 0))
