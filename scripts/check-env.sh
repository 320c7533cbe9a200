#!/usr/bin/env bash
# Usage: scripts/check-env.sh ENV_FILE VAR...
# Checks that ENV_FILE exists and gives every VAR a non-empty value. Names what is missing and
# never prints a value: the file holds secrets.
set -euo pipefail

env_file=$1
shift

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

missing=()
for var in "$@"; do
    [[ -n $(value_of "$var") ]] || missing+=("$var")
done

if (( ${#missing[@]} )); then
    echo "$env_file is missing a value for: ${missing[*]}" >&2
    echo "Set each one in $env_file (.env.example lists them)." >&2
    exit 1
fi
echo "$env_file sets every required variable: $*"
