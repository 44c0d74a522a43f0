#!/usr/bin/env bash
# Write the compose stack's secrets into deploy/compose/secrets/ (mode 0600), once:
# existing files are kept. The broker's password file needs mosquitto_passwd (Debian's
# mosquitto package), or docker to run it from the eclipse-mosquitto image.
set -euo pipefail
cd "$(dirname "$0")"
umask 077
mkdir -p secrets
new() { [ -s "secrets/$1" ] || python3 -c 'import secrets; print(secrets.token_urlsafe(32))' > "secrets/$1"; }
new db_password
new mqtt_hub_password
new secret_key
new admin_password
if [ ! -s secrets/mosquitto_passwd ]; then
    : > secrets/mosquitto_passwd
    if command -v mosquitto_passwd >/dev/null; then
        mosquitto_passwd -b secrets/mosquitto_passwd hub "$(cat secrets/mqtt_hub_password)"
    else
        docker run --rm -v "$PWD/secrets:/s" eclipse-mosquitto:2.0.20 \
            mosquitto_passwd -b /s/mosquitto_passwd hub "$(cat secrets/mqtt_hub_password)"
    fi
fi
echo "secrets in $PWD/secrets; the dashboard's admin password is in secrets/admin_password"
