#!/bin/sh
# Rewrites the golden files from the current compiler. Review `git diff tests/golden` after!
set -e
cd "$(dirname "$0")/../.."
EFC=${EFC:-build/efc}
for flow in examples/*/*.flow; do
  name=$(basename "$(dirname "$flow")")
  app=$(basename "$flow" .flow)
  mkdir -p "tests/golden/$name"
  "$EFC" compile "$flow" -o "tests/golden/$name"
  "$EFC" disasm "tests/golden/$name/$app.efb" > "tests/golden/$name/disasm.txt"
done
