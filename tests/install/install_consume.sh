#!/usr/bin/env bash
# tests/install/install_consume.sh — the install tree as a new user meets
# it: install, move the tree, then use it with nothing but what it holds.
#
#   install_consume.sh BUILD SOURCE WORK CC [FLAG...]
#
# BUILD is a built adscope build tree, SOURCE its source tree, WORK a
# scratch directory (emptied), CC the C compiler; FLAGs go to every
# compile and link (the sanitizer flags of an ASan build).  Steps:
#   1. cmake --install BUILD --prefix WORK/p, and check the layout;
#   2. move WORK/p to WORK/moved: every later step uses the moved tree, so
#      nothing may depend on the prefix given at install time;
#   3. no installed text file (adscope.pc, the CMake package, headers,
#      scripts, pages) names SOURCE or BUILD, and the program's RUNPATH is
#      $ORIGIN-relative only;
#   4. the program runs with a bare environment (no LD_LIBRARY_PATH);
#      'adscope plot' draws from the installed scripts, and fails, naming
#      the installed directory, once they are taken away: the program does
#      not fall back to the source tree (that fallback is only for the
#      build tree's program, cli/datadir.c);
#   5. a consumer builds and runs with `cc $(pkg-config --cflags --libs
#      adscope)`, and statically with --static from a copy of the tree
#      without the shared library;
#   6. a CMake project builds and runs with find_package(adscope CONFIG),
#      linking adscope::adscope and adscope::adscope_static;
#   7. man -l renders the installed adscope.1 (where man-db is installed).
# What this does not prove: the source tree still exists while the test
# runs (the program of the build tree needs it); the installed program
# contains its path as a string, used only when it runs from BUILD.
set -u
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd) work=$3 cc=$4
shift 4
flags=("$@")
here=$(cd "$(dirname "$0")" && pwd)
cmake=${CMAKE:-cmake} # CTest passes the CMake that configured BUILD
fails=0
fail() { echo "FAILED: $*"; fails=$((fails + 1)); }
step() { echo "-- $*"; }

rm -rf "$work" && mkdir -p "$work" || exit 2
work=$(cd "$work" && pwd)

step "1. cmake --install into $work/p"
"$cmake" --install "$build" --prefix "$work/p" >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "cmake --install"; exit 1; }
for f in bin/adscope lib/libadscope.a lib/libadscope.so lib/pkgconfig/adscope.pc lib/cmake/adscope/adscopeConfig.cmake \
         lib/cmake/adscope/adscopeConfigVersion.cmake include/adscope.h include/adscope/version.h \
         share/adscope/plots/style.gp share/adscope/plots/time.gp share/man/man1/adscope.1 \
         share/man/man1/adscope-check.1 share/bash-completion/completions/adscope; do
    [ -e "$work/p/$f" ] || fail "the install tree lacks $f"
done

step "2. the tree moves to $work/moved"
mv "$work/p" "$work/moved" || exit 2
P=$work/moved

step "3. nothing installed names the source or build tree"
leaks=$(grep -rIl -e "$src" -e "$build" "$P" 2>/dev/null)
[ -z "$leaks" ] || fail "installed files name the source or build tree: $leaks"
runpath=$(readelf -d "$P/bin/adscope" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p; s/.*(RPATH).*\[\(.*\)\]/\1/p')
[ "$runpath" = '$ORIGIN/../lib' ] || fail "bin/adscope's RUNPATH is '$runpath', not \$ORIGIN/../lib"

step "4. the program runs from the moved tree, charts from its own scripts"
bare=(env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$work")
out=$("${bare[@]}" "$P/bin/adscope" grad '2*dot(x,x)' --var x='arange(4)' 2>&1) || fail "adscope grad: $out"
grep -qF 'x.grad = tensor([ 0.,  4.,  8., 12.])' <<<"$out" || fail "adscope grad printed: $out"
"${bare[@]}" "$P/bin/adscope" bench --quick --functions chain --backends reverse --sizes 10,20 --no-plot \
    --out "$work/bench" >"$work/bench.log" 2>&1 || { cat "$work/bench.log"; fail "adscope bench"; }
if "${bare[@]}" "$P/bin/adscope" plot "$work/bench/results.csv" --format dumb >"$work/plot.log" 2>&1; then
    grep -q "reverse" "$work/plot.log" || fail "adscope plot drew no chart with the reverse series: $(head -20 "$work/plot.log")"
else
    fail "adscope plot from the installed tree: $(cat "$work/plot.log")"
fi
mv "$P/share/adscope/plots" "$P/share/adscope/plots.away"
"${bare[@]}" "$P/bin/adscope" plot "$work/bench/results.csv" --format dumb >"$work/noplots.log" 2>&1
rc=$?
[ $rc -eq 2 ] || fail "adscope plot without the installed scripts exited $rc, not 2 (did it reach the source tree?)"
grep -qF "$P/bin/../share/adscope/plots" "$work/noplots.log" ||
    fail "the error does not name the installed scripts' directory: $(cat "$work/noplots.log")"
mv "$P/share/adscope/plots.away" "$P/share/adscope/plots"

step "5. a consumer with pkg-config, shared and static"
expected=$here/consumer/consumer.expected
check_consumer() { # NAME PROGRAM
    local got
    got=$("${bare[@]}" "$2" 2>&1) || { fail "$1: the consumer failed: $got"; return; }
    [ "$got" = "$(cat "$expected")" ] || fail "$1: the consumer printed
$got
expected
$(cat "$expected")"
}
export PKG_CONFIG_PATH=$P/lib/pkgconfig
pc=$(pkg-config --cflags --libs adscope) || fail "pkg-config --cflags --libs adscope"
if "$cc" "${flags[@]}" "$here/consumer/consumer.c" $pc -Wl,-rpath,"$P/lib" -o "$work/consumer_pc"; then
    check_consumer "pkg-config (shared)" "$work/consumer_pc"
else
    fail "cc \$(pkg-config --cflags --libs adscope): $pc"
fi
cp -a "$P" "$work/static" && rm -f "$work/static"/lib/libadscope.so*
export PKG_CONFIG_PATH=$work/static/lib/pkgconfig
pcs=$(pkg-config --static --cflags --libs adscope) || fail "pkg-config --static --cflags --libs adscope"
if "$cc" "${flags[@]}" "$here/consumer/consumer.c" $pcs -o "$work/consumer_pc_static"; then
    check_consumer "pkg-config --static" "$work/consumer_pc_static"
    ! readelf -d "$work/consumer_pc_static" | grep -q 'libadscope' || fail "the --static consumer needs libadscope.so"
else
    fail "cc \$(pkg-config --static --cflags --libs adscope): $pcs"
fi
unset PKG_CONFIG_PATH

step "6. a consumer with CMake's find_package(adscope CONFIG)"
cflags="${flags[*]}"
if "$cmake" -S "$here/consumer" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_C_COMPILER="$cc" \
         -DCMAKE_C_FLAGS="$cflags" -DCMAKE_EXE_LINKER_FLAGS="$cflags" >"$work/cmake.log" 2>&1 &&
   "$cmake" --build "$work/cmake" >>"$work/cmake.log" 2>&1; then
    check_consumer "find_package: adscope::adscope" "$work/cmake/consumer_shared"
    check_consumer "find_package: adscope::adscope_static" "$work/cmake/consumer_static"
    ! readelf -d "$work/cmake/consumer_static" | grep -q 'libadscope' || fail "adscope::adscope_static links libadscope.so"
else
    cat "$work/cmake.log"
    fail "the CMake consumer does not build"
fi

step "7. the installed man page renders"
if command -v man >/dev/null 2>&1; then
    page=$(MANWIDTH=80 man -l "$P/share/man/man1/adscope.1" 2>&1) || fail "man -l adscope.1: $page"
    grep -q "adscope *- *forward" <<<"$page" || fail "man -l adscope.1 rendered no NAME line: $(head -5 <<<"$page")"
else
    echo "SKIPPED: man-db is not installed (Debian package man-db)"
fi
bash -n "$P/share/bash-completion/completions/adscope" || fail "the installed completion script does not parse"

[ $fails -eq 0 ] && echo "the install tree works from $P"
[ $fails -eq 0 ]
