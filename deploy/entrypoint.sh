#!/bin/sh
# The container's entry point.
#   entrypoint.sh [web]    upgrade the schema (retrying while the database starts), then
#                          serve the dashboard with gunicorn (dashboard/gunicorn_conf.py)
#   entrypoint.sh CMD...   run CMD instead, e.g. flask --app dashboard digest --loop
# DB_UPGRADE_TRIES (default 30) and DB_UPGRADE_INTERVAL (seconds, default 2) bound the wait.
set -eu
cd "$(dirname "$0")/.."

if [ "$#" -gt 0 ] && [ "$1" != "web" ]; then
    exec "$@"
fi

tries="${DB_UPGRADE_TRIES:-30}"
interval="${DB_UPGRADE_INTERVAL:-2}"
case "$tries" in
    ''|*[!0-9]*|0) echo "entrypoint: DB_UPGRADE_TRIES must be a whole number of at least 1, got '$tries'" >&2; exit 2 ;;
esac
case "$interval" in
    ''|*[!0-9.]*) echo "entrypoint: DB_UPGRADE_INTERVAL must be a number of seconds, got '$interval'" >&2; exit 2 ;;
esac

try=1
while :; do
    status=0
    output=$(flask --app dashboard db upgrade 2>&1) || status=$?
    if [ "$status" -eq 0 ]; then
        printf '%s\n' "$output" >&2
        break
    fi
    if [ "$status" -eq 2 ]; then
        # A setting is wrong (flask's one line names it): waiting won't mend it.
        printf '%s\n' "$output" >&2
        exit 2
    fi
    # The error's own line: not the traceback's indented lines nor SQLAlchemy's link.
    reason=$(printf '%s\n' "$output" | grep -v -e '^[[:space:]]' -e '^$' -e '^(Background' \
        | tail -n 1)
    if [ "$try" -ge "$tries" ]; then
        printf '%s\n' "$output" >&2
        echo "entrypoint: giving up: the database upgrade failed $tries times; last error: $reason" >&2
        exit 1
    fi
    echo "entrypoint: database not ready (try $try of $tries): $reason; retrying in ${interval}s" >&2
    try=$((try + 1))
    sleep "$interval"
done

exec gunicorn -c python:dashboard.gunicorn_conf "dashboard:create_app()"
