#!/usr/bin/env bash
# Run gitops-promote's main job on a built-in example: a throwaway local config repo
# (copied from examples/config-repo, with a bare "remote" beside it) gets a new digest
# promoted into dev, then `status` shows every app in every environment.
# Needs only Python >= 3.11 and git; installs the package into .venv from the lock file.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

if [ ! -x "$root/.venv/bin/gitops-promote" ]; then
  echo "==> installing gitops-promote into $root/.venv (locked dependencies)"
  python3 -m venv "$root/.venv"
  "$root/.venv/bin/python" -m pip install -q --disable-pip-version-check --require-hashes \
    -r "$root/requirements.lock" 2> >(grep -v "^WARNING: Location" >&2)
  "$root/.venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps "$root" \
    2> >(grep -v "^WARNING: Location" >&2)
fi
gp="$root/.venv/bin/gitops-promote"

work=$(mktemp -d "${TMPDIR:-/tmp}/gitops-promote-quickstart.XXXXXX")
git init -q --bare -b main "$work/remote.git"
cp -R "$here/config-repo" "$work/config"
cd "$work/config"
git init -q -b main
git remote add origin "$work/remote.git"
export GIT_AUTHOR_NAME="Platform Team" GIT_AUTHOR_EMAIL="platform@example.com"
export GIT_COMMITTER_NAME="Platform Team" GIT_COMMITTER_EMAIL="platform@example.com"
# The config repo's history, two days ago: every app pinned in every environment.
export GIT_AUTHOR_DATE="$(date -u -d '2 days ago' +%Y-%m-%dT%H:%M:%SZ)"
export GIT_COMMITTER_DATE="$GIT_AUTHOR_DATE"
git add -A && git commit -q -m "Initial config: api-service and worker in dev, staging, production"
unset GIT_AUTHOR_DATE GIT_COMMITTER_DATE GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL
git push -q origin main

# What CI does after building an image: pin its digest in dev and push the commit.
digest="sha256:$(printf 'api-service build 1.5.0' | sha256sum | cut -c1-64)"
echo
echo "\$ gitops-promote promote --app api-service --env dev --digest ${digest:0:19}..."
"$gp" promote --app api-service --env dev --digest "$digest" --skip-registry-check
echo
echo "\$ git show --stat HEAD   # the promotion is one commit; the overlay diff is one line"
git --no-pager show --format='%h %s%n%n%b' HEAD -- apps/api-service/overlays/dev
echo "\$ gitops-promote status"
"$gp" status
echo
echo "\$ gitops-promote promote --app api-service --env staging --dry-run   # gated: would open a PR"
"$gp" promote --app api-service --env staging --dry-run --now "$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%SZ)"
echo
echo "The throwaway config repo is in $work/config (remote: $work/remote.git)."
