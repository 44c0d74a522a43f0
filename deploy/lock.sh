#!/usr/bin/env bash
# Re-pin the hub stack (extras hub + dashboard) with hashes into deploy/requirements-hub.lock.
#   bash deploy/lock.sh            # needs pip-tools (in the dev extra) and the package index
# Resolved for this machine's Python and platform (CPython 3.11, linux x86_64 as committed;
# the compose image is the same). Install a hub from it:
#   pip install --require-hashes -r deploy/requirements-hub.lock && pip install --no-deps .
set -euo pipefail
cd "$(dirname "$0")/.."
out=deploy/requirements-hub.lock
.venv/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
    --no-emit-index-url --no-emit-find-links --extra hub --extra dashboard \
    --output-file "$out" pyproject.toml
# The dashboard extra names smartschool[hub]: pip-compile pins the project itself as a
# local path, which is neither hashable nor portable. It is installed with --no-deps.
python3 - "$out" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
text = re.sub(r"# WARNING: pip install will require.*?\n(?:#.*\n)*smartschool @ file://\S+\n(?:    #.*\n)*",
              "", text)
open(path, "w", encoding="utf-8").write(text)
PY
grep -q "^smartschool @" "$out" && { echo "lock.sh: the project is still pinned in $out" >&2; exit 1; }
echo "wrote $out ($(grep -c '==' "$out") pins)"
