#!/usr/bin/env bash
# Run gitops-promote's main job on a built-in example: a throwaway local config repo
# (copied from examples/config-repo, with a bare "remote" beside it) gets a new digest
# promoted into dev, then `status` shows every app in every environment, and a dry run
# shows the pull request a gated environment (staging) would get.
# Needs Python >= 3.11 and git; the first run installs the package and its locked
# dependencies into .venv (pip, from PyPI). Every command it runs is printed first,
# exactly as it runs it ("$ command"), so you can run them yourself.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

# Print a command (shell-quoted, as you would type it), then run it.
run() {
  printf '$'
  printf ' %q' "$@"
  printf '\n'
  "$@"
}

if [ ! -x "$root/.venv/bin/gitops-promote" ]; then
  echo "# installing gitops-promote into $root/.venv (locked dependencies)"
  run python3 -m venv "$root/.venv"
  run "$root/.venv/bin/python" -m pip install -q --disable-pip-version-check --require-hashes \
    -r "$root/requirements.lock" 2> >(grep -v "^WARNING: Location" >&2)
  run "$root/.venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps "$root" \
    2> >(grep -v "^WARNING: Location" >&2)
fi
export PATH="$root/.venv/bin:$PATH"

echo "# a throwaway config repo with a local \"remote\", its history two days old"
work=$(mktemp -d "${TMPDIR:-/tmp}/gitops-promote-quickstart.XXXXXX")
run git init -q --bare -b main "$work/remote.git"
run cp -R "$here/config-repo" "$work/config"
run cd "$work/config"
run git init -q -b main
run git remote add origin "$work/remote.git"
run git add -A
two_days_ago=$(date -u -d '2 days ago' +%Y-%m-%dT%H:%M:%SZ)
run env GIT_AUTHOR_DATE="$two_days_ago" GIT_COMMITTER_DATE="$two_days_ago" \
  git -c user.name="Platform Team" -c user.email=platform@example.com \
  commit -q -m "Initial config: api-service and worker in dev, staging, production"
run git push -q origin main

echo
echo "# What CI does after building an image: pin its digest in dev and push the commit."
digest="sha256:$(printf 'api-service build 1.5.0' | sha256sum | cut -c1-64)"
run gitops-promote promote --app api-service --env dev --digest "$digest" --skip-registry-check
echo
echo "# The promotion is one commit; the overlay diff is one line."
run git --no-pager show HEAD -- apps/api-service/overlays/dev
echo
run gitops-promote status
echo
echo "# staging is gated: a promotion is a pull request. Its soak time (1h in dev) is not"
echo "# met yet, so --defer-gates leaves that to the pull request's check; --dry-run"
echo "# shows the change and opens nothing."
run gitops-promote promote --app api-service --env staging --dry-run --defer-gates
echo
echo "# The throwaway config repo is in $work/config (remote: $work/remote.git)."
