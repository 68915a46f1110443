#!/usr/bin/env bash
# The end-to-end suite: generates the crate for fixtures/e2e/openapi.yaml, builds it, and drives
# the generated server with the official Python MCP SDK over Streamable HTTP and stdio in front
# of a recording upstream (see tests/e2e/test_e2e.py). Sets itself up on a fresh machine: a venv
# in .cache/venv with the pinned packages of requirements.txt (reinstalled only when that file
# changes), and mcpgen built by cargo (a no-op when up to date). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=.cache/venv
stamp="$venv/.e2e-requirements"
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
if ! cmp -s tests/e2e/requirements.txt "$stamp"; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/e2e/requirements.txt
    cp tests/e2e/requirements.txt "$stamp"
fi

cargo build --quiet
cd tests/e2e
exec "../../$venv/bin/python" -m pytest "$@"
