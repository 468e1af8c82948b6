#!/usr/bin/env bash
# tests/snippets/check_snippets.sh — every C snippet of the documentation
# compiles and links against the library, so none can rot unseen.
#
#   check_snippets.sh --out DIR --cc CC [--cflag F]... [--lib L]... -- FILE...
#
# FILEs are README.md (its ```c blocks) and headers (the code indented in
# their leading comment); extract.awk turns each snippet into a translation
# unit.  A whole program (with main) is compiled, linked and run (exit 0);
# a fragment is compiled inside a function and linked with prelude.c.
# Warnings are errors, except "unused" ones: a fragment shows a call, not a
# use of its results.  Exit 0 when all pass, 1 when any fails (its errors
# name the README or header line), 2 on bad usage.
set -u
here=$(cd "$(dirname "$0")" && pwd)
out="" cc="" cflags=() libs=()
while [ $# -gt 0 ]; do
    case $1 in
    --out) out=$2; shift 2 ;;
    --cc) cc=$2; shift 2 ;;
    --cflag) cflags+=("$2"); shift 2 ;;
    --lib) libs+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "check_snippets: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
if [ -z "$out" ] || [ -z "$cc" ] || [ $# -eq 0 ]; then
    echo "usage: check_snippets.sh --out DIR --cc CC [--cflag F]... [--lib L]... -- FILE..." >&2
    exit 2
fi
warn=(-std=c11 -pedantic-errors -Wall -Wextra -Werror -Wno-unused-parameter -Wno-unused-variable
      -Wno-unused-but-set-variable -Wno-unused-function)
rm -rf "$out" && mkdir -p "$out" || exit 2

if ! "$cc" "${warn[@]}" "${cflags[@]}" -I"$here" -c "$here/prelude.c" -o "$out/prelude.o"; then
    echo "check_snippets: the prelude does not compile" >&2
    exit 1
fi

failed=0 checked=0
check_one() { # FILE KIND
    local c=$1 kind=$2 exe=${1%.c}
    if [ "$kind" = program ]; then
        "$cc" "${warn[@]}" "${cflags[@]}" "$c" -o "$exe" "${libs[@]}" && "$exe" >"$exe.out" 2>&1
    else
        "$cc" "${warn[@]}" "${cflags[@]}" -I"$here" -c "$c" -o "$exe.o" &&
            "$cc" "${cflags[@]}" "$exe.o" "$out/prelude.o" -o "$exe" "${libs[@]}"
    fi
}

for src in "$@"; do
    base=$(basename "$src" | tr -c 'A-Za-z0-9\n' '_')
    found=0
    while IFS=$'\t' read -r c kind; do
        if [ "$kind" = not-c ]; then
            echo "skipped (not C): $c"
            continue
        fi
        found=$((found + 1)) checked=$((checked + 1))
        if check_one "$c" "$kind" 2>&1; then # errors in order with the verdicts
            echo "ok: $(basename "$c") ($kind)"
        else
            echo "FAILED: a $kind snippet of $src (generated as $c)"
            failed=$((failed + 1))
        fi
    done < <(awk -v out="$out" -v src="$src" -v base="$base" -f "$here/extract.awk" "$src")
    case $src in
    *.md) if [ "$found" -eq 0 ]; then
              echo "FAILED: no \`\`\`c block found in $src (is the extraction broken?)"
              failed=$((failed + 1))
          fi ;;
    esac
done
echo "$checked snippets checked, $failed failed"
[ "$failed" -eq 0 ]
