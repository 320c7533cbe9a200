#!/usr/bin/env bash
# Usage: scripts/uv.sh   (every make target that runs uv calls it first, and so does .ci/run)
# Prints the path of a working uv, installing one the first time it is needed:
#   1. the uv on PATH, when there is one;
#   2. else the project's own copy, .tools/bin/uv, made by an earlier run;
#   3. else a new copy: `python3 -m venv .tools/venv`, then that environment's pip installs uv.
# Nothing is installed into python3 itself, so a python3 that refuses installs (PEP 668's
# "externally-managed-environment" on Debian, Ubuntu and Homebrew) is fine, with no sudo, no
# --user and no --break-system-packages. When python3 cannot make a virtual environment (Debian
# and Ubuntu without python3-venv), it says what to install and exits 1.
# Progress and errors go to stderr; stdout is the path alone, for `uv=$(scripts/uv.sh)`.
set -euo pipefail

tools=$(cd "$(dirname "$0")/.." && pwd)/.tools
# The version the Dockerfiles copy: bump them together.
uv_requirement=uv==0.13.9
standalone="curl -LsSf https://astral.sh/uv/install.sh | sh   (https://docs.astral.sh/uv/getting-started/installation/)"

if found=$(command -v uv); then
    echo "$found"
    exit 0
fi
if "$tools/bin/uv" --version >/dev/null 2>&1; then
    echo "$tools/bin/uv"
    exit 0
fi

fail() {
    printf '%s\n' "$@" >&2
    # A half-made environment would only get in the way of the next try.
    rm -rf "${tools:?}/venv" "${tools:?}/bin"
    rmdir "$tools" 2>/dev/null || true
    exit 1
}

command -v python3 >/dev/null 2>&1 || fail \
    "uv is not on PATH and there is no python3 to install it with. Install either:" \
    "  uv on its own:  $standalone" \
    "  or python3 with its venv module (Debian and Ubuntu: apt install python3 python3-venv)."

echo "==> uv is not on PATH: installing $uv_requirement into $tools (python3 itself is left as it is)" >&2
rm -rf "${tools:?}/venv" "${tools:?}/bin"
mkdir -p "$tools"
if ! output=$(python3 -m venv "$tools/venv" 2>&1); then
    fail "$output" "" \
        "uv is not on PATH, and python3 cannot make the virtual environment to install it in:" \
        "its venv module (with ensurepip) is missing. Install either:" \
        "  python3's venv module:  on Debian and Ubuntu, apt install python3-venv" \
        "  or uv on its own:       $standalone" \
        "then run the same make command again."
fi
"$tools/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$uv_requirement" >&2 || fail \
    "" "pip could not install $uv_requirement into $tools/venv (see above; no network?)." \
    "Install uv on its own instead:  $standalone"

# .tools/bin holds uv and uvx alone, so putting it on PATH brings in no other python or pip.
mkdir -p "$tools/bin"
ln -sf ../venv/bin/uv "$tools/bin/uv"
ln -sf ../venv/bin/uvx "$tools/bin/uvx"
"$tools/bin/uv" --version >&2
echo "$tools/bin/uv"
