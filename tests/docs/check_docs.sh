#!/usr/bin/env bash
# tests/docs/check_docs.sh — the generated man pages and bash completion
# (cli/man.c, cli/completion.c) against the program they describe.
#
#   check_docs.sh ADSCOPE DOCDIR
#
# DOCDIR is what the build generated (DOCDIR/man1/*.1, DOCDIR/completion/
# adscope).  Checks, each against what the program itself prints:
#   - a page for 'adscope' and for every command 'adscope help' lists;
#   - every page renders with man-db's 'man -l' with no groff warning;
#   - every line of 'adscope CMD --help' is in the rendered adscope-CMD.1
#     (the NAME line in whatis form), so page and help are one text;
#   - the completion script parses, completes every command, every option of
#     each command's SYNOPSIS, every backend ('adscope help backends') after
#     --mode, and the suite functions ('adscope bench --functions' lists them
#     in its error) after --functions.
# The man checks are skipped, saying so, where man-db is not installed.
set -u
adscope=$1 doc=$2
fails=0
fail() { echo "FAILED: $*"; fails=$((fails + 1)); }
# UTF-8 where the system has it: the help texts hold a few non-ASCII signs
if locale -a 2>/dev/null | grep -qix 'c.utf-\{0,1\}8'; then export LC_ALL=C.UTF-8; else export LC_ALL=C; fi
export MANWIDTH=200

commands=$("$adscope" help | awk '/^commands:/ {on = 1; next} on && /^  [a-z]/ {print $1; next} on {exit}')
[ -n "$commands" ] || fail "'adscope help' lists no commands"

# ---- man pages -------------------------------------------------------------------------
[ -f "$doc/man1/adscope.1" ] || fail "no adscope.1 in $doc/man1"
for c in $commands; do
    [ -f "$doc/man1/adscope-$c.1" ] || fail "no page adscope-$c.1 for the command $c"
done
if command -v man >/dev/null 2>&1; then
    for page in "$doc"/man1/*.1; do
        warnings=$(man --warnings -l "$page" 2>&1 >/dev/null)
        [ -z "$warnings" ] || fail "$(basename "$page") renders with warnings: $warnings"
    done
    for c in $commands; do
        rendered=$(man -l "$doc/man1/adscope-$c.1" 2>/dev/null | sed 's/^ *//; s/ *$//')
        grep -qx "adscope-$c - .*" <<<"$rendered" || fail "adscope-$c.1: no NAME line 'adscope-$c - ...'"
        missing=0
        while IFS= read -r line; do
            line=$(sed 's/^ *//; s/ *$//' <<<"$line")
            case $line in "" | NAME | "adscope $c - "*) continue ;; esac
            grep -qxF -- "$line" <<<"$rendered" || { missing=$((missing + 1)); [ $missing -le 3 ] && echo "  adscope-$c.1 lacks: $line"; }
        done < <("$adscope" "$c" --help)
        [ $missing -eq 0 ] || fail "adscope-$c.1 lacks $missing lines of 'adscope $c --help'"
    done
    top=$(man -l "$doc/man1/adscope.1" 2>/dev/null)
    for c in $commands; do grep -q "adscope-$c(1)" <<<"$top" || fail "adscope.1 does not refer to adscope-$c(1)"; done
else
    echo "SKIPPED the man rendering checks: man-db is not installed (Debian package man-db)"
fi

# ---- bash completion -------------------------------------------------------------------
script=$doc/completion/adscope
bash -n "$script" || fail "the completion script does not parse"
# complete WORD... : the completions bash offers for the last word
complete_words() {
    bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _adscope
             printf "%s\n" "${COMPREPLY[@]}"' _ "$script" "$@"
}
expect_offered() { # WHAT WORD... :: EXPECTED...
    local what=$1 words=() got
    shift
    while [ "$1" != :: ]; do words+=("$1"); shift; done
    shift
    got=$(complete_words "${words[@]}")
    for e in "$@"; do grep -qxF -- "$e" <<<"$got" || fail "completing '${words[*]}': $what '$e' not offered (got: $(echo $got))"; done
}
expect_offered command adscope "" :: $commands help
for c in $commands; do
    synopsis=$("$adscope" "$c" --help | awk '/^SYNOPSIS/ {on = 1; next} /^[A-Z]/ {on = 0} on')
    opts=$(grep -o -- '--[a-z][a-z-]*' <<<"$synopsis" | sort -u)
    expect_offered "option of $c" adscope "$c" -- :: $opts
done
backends=$("$adscope" help backends | awk '/^BACKENDS/ {on = 1; next} on && /^    [a-z]/ {print $1}')
[ -n "$backends" ] || fail "'adscope help backends' lists no backends"
expect_offered backend adscope grad --mode "" :: $backends all
expect_offered backend adscope bench --backends "" :: $backends
suite=$("$adscope" bench --functions no-such-function 2>&1 | sed -n 's/.*(the suite: \([^;]*\);.*/\1/p' | tr -d ,)
[ -n "$suite" ] || fail "'adscope bench --functions' no longer lists the suite in its error"
expect_offered "suite function" adscope bench --functions "" :: $suite
expect_offered "second list item" adscope bench --backends reverse,for :: reverse,forward

[ $fails -eq 0 ] && echo "man pages and completion agree with the program"
[ $fails -eq 0 ]
