#!/usr/bin/env bash
# Makes sure the services the test suite talks to are up on this machine:
# PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres). Starts the local
# cluster if it is installed but stopped; fails with a clear message otherwise.
# Later channels (IMAP, SMTP, a browser) add their set-up here.
set -euo pipefail

pg_up() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h 127.0.0.1 -p 5432
    else
        (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
    fi
}

if ! pg_up; then
    if command -v pg_ctlcluster >/dev/null 2>&1 && ls /etc/postgresql >/dev/null 2>&1; then
        echo "services: starting the local PostgreSQL cluster"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
        for _ in $(seq 1 30); do pg_up && break; sleep 1; done
    fi
fi
if ! pg_up; then
    echo "services: PostgreSQL is not reachable on 127.0.0.1:5432; the suite must run on it too" >&2
    exit 1
fi
echo "services: PostgreSQL is up on 127.0.0.1:5432"
