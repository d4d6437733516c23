#!/usr/bin/env bash
# Installs and checks what the test suite talks to on this machine:
# - PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres): started if installed but stopped;
# - Dovecot (IMAP), from Debian's packages: the tests start their own instances on loopback;
# - aiosmtpd (a real SMTP server), from PyPI: the tests start and stop their own instances;
# - Chromium and ChromeDriver, from Debian's packages, for the browser tests.
# Idempotent: what is there already is left alone.
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

if ! command -v dovecot >/dev/null 2>&1; then
    echo "services: installing Dovecot (IMAP) from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq dovecot-imapd >/dev/null
fi
# The packaged service is not needed: tests run their own Dovecot instances.
echo "services: $(dovecot --version | head -n 1 | sed 's/^/Dovecot /')"

if ! python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
    echo "services: installing aiosmtpd (SMTP server) from PyPI"
    python3 -m pip install -q --disable-pip-version-check aiosmtpd
fi
echo "services: aiosmtpd $(python3 -c 'import aiosmtpd; print(aiosmtpd.__version__)')"

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    echo "services: installing Chromium and ChromeDriver from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium chromium-driver >/dev/null
fi
echo "services: $(/usr/bin/chromium --version 2>/dev/null | head -n 1)"
