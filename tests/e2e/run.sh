#!/usr/bin/env bash
# The end-to-end suite: generates the crate for fixtures/e2e/openapi.yaml, builds it, and drives
# the generated server with the official Python MCP SDK over Streamable HTTP and stdio in front
# of a recording upstream (see tests/e2e/test_e2e.py); and the same for GitHub's description in
# tool mode discover (tests/e2e/test_discover.py). Sets itself up on a fresh machine: a venv
# in .cache/venv with the pinned packages of requirements.txt (reinstalled only when that file
# changes), GitHub's description (npm @octokit/openapi, fetched alone with `npm pack` as
# tests/corpus does, into .cache/octokit-openapi-<version>), the operations tests' OTLP receiver
# (Arize Phoenix, in .cache/phoenix-venv) and load balancer (haproxy, from apt when missing), and
# mcpgen built by cargo (a no-op when up to date). Extra arguments go to pytest.
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

# The OTLP receiver of test_operate_otlp.py (Arize Phoenix, PyPI): a venv of its own, about 140
# packages, reinstalled only when requirements-otlp.txt changes.
phoenix_venv=.cache/phoenix-venv
phoenix_stamp="$phoenix_venv/.e2e-requirements"
if [[ ! -x "$phoenix_venv/bin/python" ]]; then
    python3 -m venv "$phoenix_venv"
fi
if ! cmp -s tests/e2e/requirements-otlp.txt "$phoenix_stamp"; then
    "$phoenix_venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/e2e/requirements-otlp.txt
    cp tests/e2e/requirements-otlp.txt "$phoenix_stamp"
fi

# The load balancer of test_operate_rolling.py: haproxy, from the system's packages.
if ! command -v haproxy >/dev/null; then
    if command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
    else
        echo "tests/e2e/run.sh: haproxy is needed (apt-get install haproxy)" >&2
        exit 1
    fi
fi

# GitHub's description: the package tarball alone (no dependencies, no install scripts).
octokit_version=23.0.2
octokit=.cache/octokit-openapi-$octokit_version
if [[ ! -f "$octokit/package/generated/api.github.com.json" ]]; then
    command -v npm >/dev/null || { echo "tests/e2e/run.sh: npm is needed to fetch @octokit/openapi" >&2; exit 1; }
    rm -rf "$octokit"
    mkdir -p "$octokit"
    npm pack "@octokit/openapi@$octokit_version" --pack-destination "$octokit" --silent >/dev/null
    tar -xzf "$octokit/octokit-openapi-$octokit_version.tgz" -C "$octokit"
    rm -f "$octokit/octokit-openapi-$octokit_version.tgz"
fi
export E2E_GITHUB_SPEC=$PWD/$octokit/package/generated/api.github.com.json

cargo build --quiet
cd tests/e2e
exec "../../$venv/bin/python" -m pytest "$@"
