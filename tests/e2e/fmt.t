#!/usr/bin/env bash
# `efc fmt`: every .flow file in the repository is already in the canonical
# layout, formatting is idempotent, keeps every comment, and does not change
# what the program compiles to.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
files=$(git ls-files '*.flow' 2>/dev/null | grep -v '^tests/errors/')
[ -n "$files" ] || files=$(find examples stdlib -name '*.flow')
for f in $files; do
  "$EFC" fmt --stdout "$f" > "$TMP/once.flow" 2>"$TMP/err"
  if [ $? -ne 0 ]; then ok 1 "$f: fmt succeeds"; diag < "$TMP/err"; continue; fi
  ok 0 "$f: fmt succeeds"
  "$EFC" fmt --stdout "$TMP/once.flow" > "$TMP/twice.flow"
  same_file "$TMP/once.flow" "$TMP/twice.flow" "$f: formatting twice changes nothing"
  same_file "$f" "$TMP/once.flow" "$f: is in the canonical layout"
  [ "$(grep -c '#' "$f")" -le "$(grep -c '#' "$TMP/once.flow")" ]
  ok $? "$f: every comment is kept"
done
# Formatting must not change meaning: a scrambled layout compiles to the same artefacts.
for flow in examples/*/*.flow; do
  app=$(basename "$flow" .flow)
  mkdir -p "$TMP/scrambled"
  # one token per line where it is safe: after commas and before pipes
  sed -e '/^ *#/!s/, /,\n      /g' -e 's/^  |/|/' "$flow" > "$TMP/scrambled/$app.flow"
  "$EFC" compile "$flow" -o "$TMP/a" 2>/dev/null
  "$EFC" fmt "$TMP/scrambled/$app.flow"
  "$EFC" compile "$TMP/scrambled/$app.flow" -o "$TMP/b" 2>/dev/null
  cmp -s "$TMP/a/$app.efb" "$TMP/b/$app.efb" && cmp -s "$TMP/a/rules.json" "$TMP/b/rules.json"
  ok $? "$flow: reformatted from another layout, it compiles to the same rules and bytecode"
done
# --check reports an unformatted file and exits 1; a file with syntax errors is left alone.
printf 'flow   f{on A|map{a:1}->emit B}\n' > "$TMP/ugly.flow"
"$EFC" fmt --check "$TMP/ugly.flow" > "$TMP/out"
[ $? -eq 1 ] && grep -q ugly.flow "$TMP/out"
ok $? "fmt --check lists an unformatted file and exits 1"
printf 'flow f { on A where x = 1 -> emit B }\n' > "$TMP/broken.flow"
cp "$TMP/broken.flow" "$TMP/broken.orig"
"$EFC" fmt "$TMP/broken.flow" 2>"$TMP/err"
[ $? -eq 1 ] && cmp -s "$TMP/broken.flow" "$TMP/broken.orig" && grep -q 'broken.flow:1:23: error' "$TMP/err"
ok $? "fmt reports a syntax error and leaves the file unchanged"
done_testing
