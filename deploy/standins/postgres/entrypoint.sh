#!/bin/sh
# What the official postgres image's entrypoint does, for the variables tictac uses:
# on an empty data directory, initdb with POSTGRES_USER (default postgres) as the
# superuser and POSTGRES_PASSWORD as its password, create POSTGRES_DB (default: the
# user's name), accept password logins (scram-sha-256) from any address; then run the
# server in the foreground as the postgres user. Without a password it refuses to start,
# as the official image does.
set -eu
if [ "${1:-}" = "postgres" ] && [ "$(id -u)" = "0" ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown -R postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ "${1:-}" = "postgres" ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    user="${POSTGRES_USER:-postgres}"
    database="${POSTGRES_DB:-$user}"
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "Error: the database is uninitialized and POSTGRES_PASSWORD is not set." >&2
        exit 1
    fi
    password_file="$(mktemp)"
    printf '%s\n' "$POSTGRES_PASSWORD" > "$password_file"
    initdb --username="$user" --pwfile="$password_file" --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA" > /dev/null
    rm -f "$password_file"
    printf 'host all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
    # A server on the socket alone while the database is made, as the official image does.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start > /dev/null
    if [ "$database" != "postgres" ]; then
        echo 'CREATE DATABASE :"db";' | psql -v ON_ERROR_STOP=1 --username="$user" --dbname=postgres \
            --set=db="$database" > /dev/null
    fi
    pg_ctl -D "$PGDATA" -m fast -w stop > /dev/null
    echo "PostgreSQL init process complete; ready for start up."
fi
if [ "${1:-}" = "postgres" ]; then
    shift
    exec postgres -c listen_addresses='*' "$@"
fi
exec "$@"
