#!/usr/bin/env bash
# Usage: tests/bootstrap.sh   (`make test-bootstrap`, part of `make test`)
# Runs make the way a new machine would, to check how it finds uv (scripts/uv.sh): in a copy of the
# project, with a PATH that holds no uv, and a python3 whose pip refuses installs the way Debian's and
# Ubuntu's does (PEP 668's EXTERNALLY-MANAGED marker). The stand-in is this machine's Python laid out
# as an installation of its own: a virtual environment cannot play that part, because pip ignores
# the marker inside one. Prints "bootstrap: N passed, N failed" and exits 1 when one failed;
# KEEP=1 leaves the scratch folder (printed) for a look.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
if [[ -n ${KEEP:-} ]]; then echo "scratch folder: $scratch"; else trap 'rm -rf "$scratch"' EXIT; fi

passed=0
failed=0
# check NAME COMMAND...: runs the command, its output in $scratch/out, and counts the result.
check() {
    local name=$1
    shift
    if "$@" >"$scratch/out" 2>&1; then
        passed=$((passed + 1))
        echo "ok      $name"
    else
        failed=$((failed + 1))
        echo "FAILED  $name"
        sed 's/^/        | /' "$scratch/out" | tail -n 40
    fi
}

# The project's files as a clone would have them (uncommitted changes included), no .venv or .tools:
# what make and the server's tests read (those hold the server's shared files to the other
# services' copies, in router/app and simulator/app, and router/tests/hostile_bodies.py and
# simulator/tests/hostile_bodies.py).
copy_project() {
    mkdir -p "$1"
    git -C "$root" ls-files -z --cached --others --exclude-standard -- Makefile scripts server \
        router/app simulator/app router/tests/hostile_bodies.py simulator/tests/hostile_bodies.py \
        router/tests/support.py simulator/tests/support.py \
        | tar -C "$root" --null --files-from=- --ignore-failed-read -cf - \
        | tar -C "$1" -xf -
}

# stand_in_python DIR [without-ensurepip]: DIR/bin/python3, a copy of this machine's interpreter
# whose standard library (linked file by file) carries the EXTERNALLY-MANAGED marker, with pip and
# nothing else installed. Without ensurepip, `python3 -m venv` fails as it does on Debian and Ubuntu
# without python3-venv.
stand_in_python() {
    local dir=$1 leave_out=${2:-} binary stdlib pip_dir entry name site
    {
        read -r binary
        read -r stdlib
        read -r pip_dir
    } < <(python3 -c '
import os, sys, sysconfig
print(os.path.realpath(sys._base_executable))
print(sysconfig.get_path("stdlib"))
try:
    import pip
    print(os.path.dirname(os.path.dirname(pip.__file__)))
except ImportError:
    print()
')
    local lib=$dir/lib/${stdlib##*/}
    mkdir -p "$dir/bin" "$lib"
    cp "$binary" "$dir/bin/python3"
    for entry in "$stdlib"/*; do
        name=${entry##*/}
        case $name in
            site-packages | dist-packages | EXTERNALLY-MANAGED) continue ;;
            ensurepip) [[ $leave_out == without-ensurepip ]] && continue ;;
        esac
        ln -s "$entry" "$lib/$name"
    done
    printf '[externally-managed]\nError=This environment is externally managed (a stand-in for a distribution'"'"'s python3).\n' \
        >"$lib/EXTERNALLY-MANAGED"
    site=$("$dir/bin/python3" -c 'import site; print(site.getsitepackages()[0])')
    mkdir -p "$site"
    if [[ -n $pip_dir ]]; then
        for entry in "$pip_dir"/pip "$pip_dir"/pip-*.dist-info; do
            [[ -e $entry ]] && ln -s "$entry" "$site/${entry##*/}"
        done
    fi
}

# PATH less every folder that holds a uv (this project's own .tools/bin included).
no_uv_path=
IFS=: read -ra dirs <<<"$PATH"
for dir in "${dirs[@]}"; do
    [[ -n $dir && ! -e $dir/uv ]] && no_uv_path+=${no_uv_path:+:}$dir
done

# machine BIN_DIR COMMAND...: runs the command as on the new machine: BIN_DIR (its python3) first
# on the cut PATH, and none of the variables that point at a uv or at the make running this test.
machine() {
    local bin_dir=$1
    shift
    env -u UV -u VIRTUAL_ENV -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
        PATH="$bin_dir:$no_uv_path" UV_PYTHON_DOWNLOADS=never "$@"
}

# A make target that prints the uv a process started by make finds, the way the e2e tests look
# for it (tests/support.py: $UV, else PATH).
probe='probe: .uv ; @python3 -c "import os, shutil; print(os.environ.get(\"UV\") or shutil.which(\"uv\"))"'

echo "==> bootstrap: make on a machine with no uv and a python3 that refuses installs"
stand_in_python "$scratch/python"
stand_in_python "$scratch/python-without-venv" without-ensurepip
copy_project "$scratch/project"
project=$scratch/project
python=$scratch/python/bin

for tool in make bash git; do
    machine "$python" bash -c "command -v $tool" >/dev/null \
        || { echo "bootstrap: no $tool on PATH once the folders holding uv are left out" >&2; exit 1; }
done

# The checks below run inside `if` (in check), where set -e does not apply: each step says
# `|| return 1` or is the last.

no_uv_and_pip_refuses() {
    if machine "$python" bash -c 'command -v uv'; then return 1; fi
    # No pip at all is the other common case (Ubuntu's default): nothing more to check then.
    machine "$python" python3 -c 'import pip' 2>/dev/null || return 0
    if machine "$python" python3 -m pip install --user uv; then return 1; fi
    machine "$python" python3 -m pip install uv >"$scratch/pip" 2>&1 && return 1
    cat "$scratch/pip"
    grep -q externally-managed-environment "$scratch/pip"
}
check "the machine: no uv on PATH, and python3's pip refuses to install one" no_uv_and_pip_refuses

installs_uv_and_runs_a_target() {
    machine "$python" make -C "$project" test-server >"$scratch/first" 2>&1
    local status=$?
    cat "$scratch/first"
    ((status == 0)) || return 1
    grep -q "uv is not on PATH: installing" "$scratch/first" || return 1
    "$project/.tools/bin/uv" --version || return 1
    # Nothing went into python3 itself.
    ! machine "$python" python3 -c 'import uv' 2>/dev/null
}
check "make test-server installs uv into .tools/ and runs the server's tests" installs_uv_and_runs_a_target

finds_the_same_uv_again() {
    local found
    found=$(machine "$python" make --no-print-directory -C "$project" --eval "$probe" probe 2>&1)
    echo "$found"
    [[ $found == "$project/.tools/bin/uv" ]]
}
check "the next make reuses .tools/, and the processes it starts find that uv" finds_the_same_uv_again

says_what_to_install_without_venv() {
    rm -rf "$project/.tools"
    machine "$scratch/python-without-venv/bin" make -C "$project" test-server >"$scratch/novenv" 2>&1
    local status=$?
    cat "$scratch/novenv"
    ((status != 0)) || return 1
    grep -q "apt install python3-venv" "$scratch/novenv" || return 1
    grep -q "https://astral.sh/uv/install.sh" "$scratch/novenv" || return 1
    [[ ! -e $project/.tools/venv && ! -e $project/.tools/bin ]]
}
check "without python3's venv module, make names python3-venv and uv's installer" \
    says_what_to_install_without_venv

uses_the_uv_on_path() {
    local bin=$scratch/with-uv found
    mkdir -p "$bin"
    ln -sf "$python/python3" "$bin/python3"
    printf '#!/bin/sh\necho "uv 0.0.0 (a stand-in)"\n' >"$bin/uv"
    chmod +x "$bin/uv"
    found=$(machine "$bin" make --no-print-directory -C "$project" --eval "$probe" probe 2>&1)
    echo "$found"
    [[ $found == "$bin/uv" && ! -e $project/.tools/bin ]]
}
check "a uv on PATH is used as it is, and nothing is installed" uses_the_uv_on_path

echo "bootstrap: $passed passed, $failed failed"
((failed == 0))
