#!/usr/bin/env bash
# check_robustness.t — `efc check` never crashes, whatever the input.
#
# Every .flow file of tests/errors and examples/ is cut short at about 20
# offsets and changed byte by byte (a fixed seed, so every run checks the
# same inputs); `efc check` must exit 0 or 1 on each: never a signal, never
# a sanitizer report, never a hang.
set -u
EFC=${EFC:-"$(pwd)/build/efc"}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# Under SANITIZE=1 a report must not look like an ordinary exit status 1
# (leaks are left to errors.t: the leak check triples the time of a run);
# a run that loops is killed by its CPU limit (SIGXCPU) and fails too.
export ASAN_OPTIONS="exitcode=86:detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="exitcode=87:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
ulimit -t 20
# Bytes, not characters: ${s:i:n} below cuts at byte offsets.
export LC_ALL=C

cd "$ROOT" || exit 1
files=$(ls tests/errors/*.flow; find examples -name '*.flow' | sort)
nfiles=$(echo "$files" | wc -l)
echo "1..$((nfiles + 1))"

# Bytes that matter to the lexer and parser, written for printf.
bytes=('{' '}' '(' ')' '[' ']' '"' '\\' '|' '\n' '\0' '\377' '`' '#' '.' ',' ':' '-' '0' 'x' ' ')
rand() { seed=$(( (seed * 1103515245 + 12345) % 2147483648 )); r=$(( seed / 65536 )); }

# run FILE WHAT: efc check must end with status 0 or 1 (1 is "errors found").
bad=""
run() {
  "$EFC" check "$1" >/dev/null 2>"$1.err"
  local rc=$?
  if [ "$rc" -gt 1 ]; then
    bad="$bad$2: exit status $rc"$'\n'
    while IFS= read -r line; do
      case $line in *ERROR*|*"runtime error"*|*SUMMARY*) bad="$bad  $line"$'\n' ;; esac
    done < "$1.err"
  fi
}

# fuzz_file N FILE: the TAP line for one file (and # lines on failure).
# The variants are written with shell builtins and checked by one efc run
# (`efc check` takes many files); only if that run fails is each variant
# run on its own, to name the ones that crash.
fuzz_file() {
  local n=$1 f=$2 dir="$TMP/$1" text="" size i off k pos b len v=0
  local -a what=()
  mkdir -p "$dir"
  bad=""
  seed=$((20240601 + n))
  IFS= read -r -d '' text < "$f"
  size=${#text}
  # truncations: 20 offsets spread over the file, and one byte short of it
  for ((i = 0; i < 20; i++)); do
    off=$(( size * i / 20 ))
    printf '%s' "${text:0:off}" > "$dir/$((v += 1)).flow"
    what[v]="cut at $off"
  done
  printf '%s' "${text:0:size-1}" > "$dir/$((v += 1)).flow"
  what[v]="cut at $((size - 1))"
  # mutations: replace a byte, delete a byte, insert a byte, duplicate a slice
  for ((k = 1; k <= 10; k++)); do
    rand; pos=$(( r % (size > 0 ? size : 1) ))
    rand; b=${bytes[$(( r % ${#bytes[@]} ))]}
    rand; len=$(( r % 40 + 1 ))
    v=$((v + 1))
    case $(( k % 4 )) in
      0) { printf '%s' "${text:0:pos}"; printf "$b"; printf '%s' "${text:pos+1}"; } > "$dir/$v.flow"; what[v]="byte $pos replaced by '$b'" ;;
      1) printf '%s' "${text:0:pos}${text:pos+1}" > "$dir/$v.flow"; what[v]="byte $pos deleted" ;;
      2) { printf '%s' "${text:0:pos}"; printf "$b"; printf '%s' "${text:pos}"; } > "$dir/$v.flow"; what[v]="'$b' inserted at $pos" ;;
      3) printf '%s' "${text:0:pos+len}${text:pos}" > "$dir/$v.flow"; what[v]="$len bytes at $pos doubled" ;;
    esac
  done
  "$EFC" check "$dir"/*.flow >/dev/null 2>&1
  if [ $? -gt 1 ]; then
    for ((i = 1; i <= v; i++)); do run "$dir/$i.flow" "$f ${what[i]}"; done
    [ -n "$bad" ] || bad="$f: efc check of all the variants at once failed, each alone passes"$'\n'
  fi
  if [ -z "$bad" ]; then
    echo "ok $n - $f: truncated and mutated, efc check never crashes"
  else
    echo "not ok $n - $f: truncated and mutated, efc check never crashes"
    printf '%s' "$bad" | sed 's/^/# /'
  fi
}

n=0
failed=0
for f in $files; do
  n=$((n + 1))
  fuzz_file "$n" "$f"
done > "$TMP/results"
cat "$TMP/results"
grep -q '^not ok' "$TMP/results" && failed=1

# Inputs no file above contains: nothing, binary noise, deep nesting, long chains.
n=$((n + 1))
bad=""
printf '' > "$TMP/empty.flow"; run "$TMP/empty.flow" "an empty file"
printf '\0\0\0\377\376{' > "$TMP/binary.flow"; run "$TMP/binary.flow" "binary bytes"
head -c 20000 /dev/zero | tr '\0' '(' > "$TMP/parens.flow"; run "$TMP/parens.flow" "20000 open parentheses"
{ printf 'event A { n: int }\nevent B { n: int }\nflow f { on A where n > '
  for i in $(seq 1 3000); do printf 'n + '; done; printf 'n -> emit B }\n'; } > "$TMP/chain.flow"
run "$TMP/chain.flow" "a chain of 3000 additions"
{ printf 'type T '; for i in $(seq 1 3000); do printf '{ a: '; done; printf 'int'
  for i in $(seq 1 3000); do printf ' }'; done; printf '\n'; } > "$TMP/records.flow"
run "$TMP/records.flow" "records nested 3000 deep"
{ printf 'event A { n: int }\nevent B { n: int }\nflow f { on A where n'
  for i in $(seq 1 3000); do printf '.x'; done; printf ' > 1 -> emit B }\n'; } > "$TMP/fields.flow"
run "$TMP/fields.flow" "a chain of 3000 field accesses"
{ printf 'event A { n: bool }\nevent B { n: int }\nflow f { on A where '
  for i in $(seq 1 3000); do printf 'not '; done; printf 'n -> emit B }\n'; } > "$TMP/nots.flow"
run "$TMP/nots.flow" "3000 nested nots"
{ printf 'event A { n: int }\nevent B { n: int }\nflow f { on A where n == 1 | map { n: '
  for i in $(seq 1 2000); do printf 'if n > %d then %d else ' "$i" "$i"; done; printf '0 } -> emit B }\n'; } > "$TMP/ifs.flow"
run "$TMP/ifs.flow" "2000 nested ifs"
{ printf 'event A from "'; head -c 300000 /dev/zero | tr '\0' 'x'; printf '" { n: int }\n'; } > "$TMP/long.flow"
run "$TMP/long.flow" "a 300000-byte string"
if [ -z "$bad" ]; then
  echo "ok $n - pathological inputs: efc check never crashes"
else
  echo "not ok $n - pathological inputs: efc check never crashes"
  printf '%s' "$bad" | sed 's/^/# /'
  failed=1
fi
exit $failed
