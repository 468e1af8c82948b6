# scripts/lib/bootstrap.sh — sourced by scripts/bench and scripts/test.
#
# Installs the Debian packages adscope needs (apt-get update only when
# something is missing) and defines adscope_build, which configures and
# builds one build directory.  Idempotent, and fast when nothing changed:
# one dpkg query and an incremental build.

set -euo pipefail

ADSCOPE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ADSCOPE_PACKAGES=(build-essential cmake pkg-config libgsl-dev libopenblas-dev libcriterion-dev
                  libcsv-dev libjansson-dev libsleef-dev gnuplot-nox graphviz man-db)

adscope_log() { printf '[adscope] %s\n' "$*" >&2; }

# adscope_install_packages PKG... — installs those not installed yet.
adscope_install_packages() {
    local missing=() p
    for p in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$p")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    adscope_log "installing missing packages: ${missing[*]}"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo="sudo"
        else
            adscope_log "not root and no sudo: install these first: ${missing[*]}"
            return 1
        fi
    fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# adscope_build DIR BUILD_TYPE [cmake -D arguments...]
adscope_build() {
    local dir=$1 type=$2
    shift 2
    local jobs
    jobs=$(nproc 2>/dev/null || echo 2)
    mkdir -p "$dir"
    if [ ! -f "$dir/CMakeCache.txt" ]; then
        adscope_log "configuring $dir ($type)"
        cmake -S "$ADSCOPE_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE="$type" "$@" >"$dir/configure.log" 2>&1 ||
            { cat "$dir/configure.log" >&2; return 1; }
    fi
    adscope_log "building $dir"
    if ! cmake --build "$dir" -j "$jobs" >"$dir/build.log" 2>&1; then
        tail -n 60 "$dir/build.log" >&2
        adscope_log "build failed (full log: $dir/build.log)"
        return 1
    fi
}

adscope_install_packages "${ADSCOPE_PACKAGES[@]}"
