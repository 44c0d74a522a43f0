#!/usr/bin/env bash
# Make sure the services the tests talk to are installed and running on this machine:
# PostgreSQL on 127.0.0.1:5432 (trust auth for local tests), Mosquitto (binary only:
# the tests start their own brokers), and Chromium + ChromeDriver for browser tests.
# Installs with apt when run as root on Debian/Ubuntu; otherwise says what is missing.
set -euo pipefail

need_apt=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)
command -v pg_ctlcluster >/dev/null 2>&1 || need_apt+=(postgresql)
# the compose broker's health check is tested with the real client (issue #16)
command -v mosquitto_sub >/dev/null 2>&1 || need_apt+=(mosquitto-clients)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
# the single sign-on tests run a real OpenID provider (npm's oidc-provider, tests/oidc/)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)

if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing: ${need_apt[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
    else
        echo "missing: ${need_apt[*]} (install them, e.g. sudo apt-get install ${need_apt[*]})" >&2
        exit 1
    fi
fi

pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! pg_ready; then
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$version" ]; then
        echo "PostgreSQL is installed but has no cluster in /etc/postgresql" >&2
        exit 1
    fi
    if [ "$(id -u)" = 0 ]; then
        conf=/etc/postgresql/$version/main/pg_hba.conf
        # Local test databases only: trust on loopback, as the tests connect as postgres.
        if ! grep -q '^host all all 127.0.0.1/32 trust' "$conf"; then
            sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$conf"
        fi
    fi
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 60); do pg_ready && break; sleep 0.5; done
    pg_ready || { echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1; }
fi

# The system broker is not what the tests use, but a developer expects it up.
if ! (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
    if [ -f /etc/mosquitto/mosquitto.conf ]; then
        mkdir -p /run/mosquitto && chown mosquitto: /run/mosquitto 2>/dev/null || true
        mosquitto -d -c /etc/mosquitto/mosquitto.conf || /usr/sbin/mosquitto -d -c /etc/mosquitto/mosquitto.conf || true
    fi
fi
echo "services ready: PostgreSQL on 127.0.0.1:5432, mosquitto, chromium, node"
