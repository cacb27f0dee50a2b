#!/usr/bin/env bash
# The agent archive's own code must run on Python 3.7 (agents 7.2+ bundle 3.7).
# 1. vermin: nothing newer than 3.7 in src/extension.py and the ue_twilio
#    modules the archive ships (scripts/build_package.py decides which; the
#    sandbox/ and cli/ folders run only on the dev Python and are not checked).
# 2. if a Python 3.7 is at hand, it byte-compiles the same files (syntax check).
# tests/packaging also imports every shipped module under 3.7 from the built zip.
# Usage: scripts/check_py37.sh [VERMIN]   (env PYTHON37 overrides the 3.7 path)
set -euo pipefail
cd "$(dirname "$0")/.."
VERMIN="${1:-vermin}"
PYTHON="$(dirname "$(command -v "$VERMIN")")/python"
[ -x "$PYTHON" ] || PYTHON=python3
PYTHON37="${PYTHON37:-/root/.pyenv/versions/3.7.16/bin/python3.7}"

mapfile -t FILES < <("$PYTHON" scripts/build_package.py --list-shipped-sources)
[ "${#FILES[@]}" -gt 1 ] || { echo "no sources listed" >&2; exit 1; }

"$VERMIN" -t=3.7- --no-tips --violations -q "${FILES[@]}"
echo "vermin: ${#FILES[@]} shipped files need nothing newer than Python 3.7"

if command -v "$PYTHON37" >/dev/null 2>&1; then
  "$PYTHON37" - "${FILES[@]}" <<'PY'
import sys
for path in sys.argv[1:]:
    with open(path, "rb") as handle:
        compile(handle.read(), path, "exec", dont_inherit=True)
print("python3.7: %d files compile" % (len(sys.argv) - 1))
PY
else
  echo "python3.7 not found ($PYTHON37): compile check skipped"
fi
