#!/usr/bin/env bash
# Golden tests: `efc compile` on every example writes exactly the reviewed
# rules.json, event-store.json and bytecode (compared as `efc disasm` text
# and as bytes), and writes the same bytes on a second run.
# Regenerate deliberately with: tests/golden/update.sh (then review the diff).
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
for flow in examples/*/*.flow; do
  name=$(basename "$(dirname "$flow")")
  app=$(basename "$flow" .flow)
  out="$TMP/$name"
  "$EFC" compile "$flow" -o "$out" 2>"$TMP/err"
  ok $? "$name: efc compile succeeds"
  for f in rules.json event-store.json; do
    same_file "tests/golden/$name/$f" "$out/$f" "$name: $f matches the golden file"
  done
  "$EFC" disasm "$out/$app.efb" > "$out/disasm.txt"
  ok $? "$name: efc disasm loads and verifies the image"
  same_file "tests/golden/$name/disasm.txt" "$out/disasm.txt" "$name: bytecode listing matches the golden file"
  same_file "tests/golden/$name/$app.efb" "$out/$app.efb" "$name: bytecode bytes match the golden file"
  "$EFC" compile "$flow" -o "$out-again" 2>/dev/null
  cmp -s "$out/rules.json" "$out-again/rules.json" && cmp -s "$out/event-store.json" "$out-again/event-store.json" \
    && cmp -s "$out/$app.efb" "$out-again/$app.efb"
  ok $? "$name: a second compile writes identical bytes"
done
done_testing
