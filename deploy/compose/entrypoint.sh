#!/bin/sh
# Turn the compose secrets (files in /run/secrets) into the hub's settings, then run the
# command. A setting already in the environment wins. The database password is URL-quoted.
set -eu
dir=${SMARTSCHOOL_SECRETS_DIR:-/run/secrets}
secret() { [ -r "$dir/$1" ] && tr -d '\r\n' < "$dir/$1"; }

if [ -z "${SMARTSCHOOL_DATABASE_URL:-}" ] && password=$(secret db_password); then
    quoted=$(python -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$password")
    export SMARTSCHOOL_DATABASE_URL="postgresql://smartschool:${quoted}@${SMARTSCHOOL_DB_HOST:-db}:5432/smartschool"
fi
if [ -z "${SMARTSCHOOL_MQTT_PASSWORD:-}" ] && value=$(secret mqtt_hub_password); then
    export SMARTSCHOOL_MQTT_PASSWORD="$value"
fi
if [ -z "${SMARTSCHOOL_SECRET_KEY:-}" ] && value=$(secret secret_key); then
    export SMARTSCHOOL_SECRET_KEY="$value"
fi
if [ -z "${SMARTSCHOOL_ADMIN_PASSWORD:-}" ] && value=$(secret admin_password); then
    export SMARTSCHOOL_ADMIN_PASSWORD="$value"
fi
exec "$@"
