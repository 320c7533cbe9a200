#!/usr/bin/env bash
# Usage: scripts/check-env.sh ENV_FILE VAR[/OTHER_NAME]... [--recommended VAR[/OTHER_NAME]...]
# Checks that ENV_FILE exists and gives every VAR a non-empty value, under its name or under one of
# the other names after a "/" (the source systems' spellings the router accepts too). Names what is
# missing and never prints a value: the file holds secrets. The names after --recommended are not
# required: each one left unset is named in a note.
set -euo pipefail

env_file=$1
shift
required=()
recommended=()
for arg in "$@"; do
    if [[ $arg == --recommended ]]; then
        into=recommended
    elif [[ ${into:-required} == required ]]; then
        required+=("$arg")
    else
        recommended+=("$arg")
    fi
done

if [[ ! -f $env_file ]]; then
    echo "$env_file not found: copy .env.example to $env_file and fill it in." >&2
    exit 1
fi

# The value the last assignment of $1 gives, the way dotenv reads it: optional `export`, quotes
# stripped, a ` #` comment after an unquoted value dropped.
value_of() {
    local line value
    line=$(grep -E "^[[:space:]]*(export[[:space:]]+)?$1[[:space:]]*=" "$env_file" | tail -n 1) || true
    value=${line#*=}
    value="${value#"${value%%[![:space:]]*}"}"
    case $value in
        \"*) value=${value#\"}; value=${value%%\"*} ;;
        \'*) value=${value#\'}; value=${value%%\'*} ;;
        \#*) value= ;;
        *) value=${value%%[[:space:]]#*} ;;
    esac
    value="${value%"${value##*[![:space:]]}"}"
    printf '%s' "$value"
}

# Whether any spelling of NAME/OTHER... has a value.
is_set() {
    local name
    for name in ${1//\// }; do
        [[ -n $(value_of "$name") ]] && return 0
    done
    return 1
}

# "NAME (or OTHER)": the first name is the one to set.
named() {
    local first=${1%%/*}
    if [[ $1 == */* ]]; then printf '%s (or %s)' "$first" "${1#*/}"; else printf '%s' "$first"; fi
}

missing=()
for var in ${required[@]+"${required[@]}"}; do
    is_set "$var" || missing+=("$(named "$var")")
done
unset_recommended=()
for var in ${recommended[@]+"${recommended[@]}"}; do
    is_set "$var" || unset_recommended+=("$(named "$var")")
done

note_recommended() {
    if (( ${#unset_recommended[@]} )); then
        printf -v listed '%s, ' "${unset_recommended[@]}"
        echo "Recommended, not required: $env_file leaves ${listed%, } unset (.env.example says why)."
    fi
}

if (( ${#missing[@]} )); then
    printf -v listed '%s, ' "${missing[@]}"
    echo "$env_file is missing a value for: ${listed%, }" >&2
    echo "Set each one in $env_file (.env.example lists them)." >&2
    note_recommended
    exit 1
fi
echo "$env_file sets every required variable: ${required[*]}"
note_recommended
