#!/usr/bin/env bash
# A wheelhouse for installing gates offline: every wheel a Raspberry Pi (linux/aarch64,
# Python 3.11, Raspberry Pi OS 12) needs for `smartschool[gate]`, fetched on any machine
# with the package index, binaries only (nothing compiles on the Pi).
#   bash deploy/wheelhouse.sh DIR [EXTRAS]      # EXTRAS default: gate
# Then on each gate, offline:
#   python3 -m venv /opt/smartschool
#   /opt/smartschool/bin/pip install --no-index --find-links DIR 'smartschool[gate]'
# evdev has no aarch64 wheel: for `gate-evdev`, build it once on a Pi
# (apt install gcc python3-dev linux-libc-dev; pip wheel --wheel-dir DIR 'evdev>=1.6,<3')
# and copy it into DIR, or use Debian's python3-evdev.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?usage: wheelhouse.sh DIR [EXTRAS]}
extras=${2:-gate}
PIP=(.venv/bin/python -m pip --disable-pip-version-check --quiet)
mkdir -p "$dir"
"${PIP[@]}" wheel --no-deps --wheel-dir "$dir" .
# manylinux_2_34 for lgpio's wheels (the Pi's glibc is 2.36); pip does not widen an
# explicit tag, so the 2014 one (glibc 2.17) is named as well.
"${PIP[@]}" download --dest "$dir" --only-binary=:all: --python-version 3.11 \
    --platform manylinux_2_34_aarch64 --platform manylinux2014_aarch64 ".[$extras]"
echo "wheelhouse for smartschool[$extras] on linux/aarch64: $dir ($(ls "$dir" | wc -l) wheels)"
