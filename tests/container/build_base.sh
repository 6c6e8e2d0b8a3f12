#!/usr/bin/env bash
# Build, once, a local Debian bookworm image with python3 to stand in for python:3.11-slim
# (Docker Hub is out of reach here). Debian bookworm's python3 is 3.11, like the real base.
#
# Usage: tests/container/build_base.sh [IMAGE]     (needs root, debootstrap and buildah)
# Prints IMAGE on stdout when it is ready. Cached twice, keyed by this script and the mirror:
#   - the image itself in buildah's storage (label org.gitops-promote.base-key), and
#   - the root file system as a tar under ${XDG_CACHE_HOME:-~/.cache}/gitops-promote/,
# so only the first run on a machine pays for debootstrap (about a minute).
# Environment: DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR override the mirrors read from
# /etc/apt/sources.list*; STORAGE_DRIVER picks buildah's storage driver (e.g. vfs).
set -euo pipefail

image=${1:-localhost/gitops-promote-base:bookworm}
suite=bookworm
packages=python3,python3-venv,ca-certificates
cache_dir=${GITOPS_PROMOTE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gitops-promote}
label=org.gitops-promote.base-key

say() { printf 'build_base: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap and buildah need it); try: sudo $0"
command -v debootstrap >/dev/null || die "debootstrap is missing; install it: apt-get install debootstrap"
command -v buildah >/dev/null || die "buildah is missing; install it: apt-get install buildah"

# The Debian mirror this machine's apt uses (deb822 or one-line format), else the default.
apt_uri() { # $1: path suffix to look for, e.g. /debian or /debian-security
  local files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources)
  cat "${files[@]}" 2>/dev/null \
    | sed -nE -e 's/^URIs:[[:space:]]*//p' -e 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/p' \
    | tr ' ' '\n' | sed 's:/*$::' | grep -E "^https?://.*$1\$" | head -n1 || true
}
mirror=${DEBIAN_MIRROR:-$(apt_uri /debian)}
mirror=${mirror:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-$(apt_uri /debian-security)}
security=${security:-http://deb.debian.org/debian-security}

key=$( { cat "$0"; echo "$suite $packages $mirror $security"; } | sha256sum | cut -c1-16)
storage=()
# One storage root cannot hold two drivers: another driver gets its own root.
[ -z "${STORAGE_DRIVER:-}" ] ||
  storage=(--storage-driver "$STORAGE_DRIVER" --root "/var/lib/containers/storage-$STORAGE_DRIVER")

have=$(buildah "${storage[@]}" inspect --type image --format "{{ index .OCIv1.Config.Labels \"$label\" }}" \
  "$image" 2>/dev/null || true)
if [ "$have" = "$key" ]; then
  say "cached image $image ($key)"
  echo "$image"
  exit 0
fi

mkdir -p "$cache_dir"
exec 9>"$cache_dir/base.lock"
flock 9 # one build at a time on this machine
tarball="$cache_dir/base-$suite-$key.tar"

if [ ! -s "$tarball" ]; then
  work=$(mktemp -d "$cache_dir/rootfs.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  say "debootstrap $suite from $mirror (once per machine; about a minute)"
  if ! debootstrap --variant=minbase --include="$packages" "$suite" "$work/root" "$mirror" \
    >"$work/debootstrap.log" 2>&1; then
    tail -n 20 "$work/debootstrap.log" >&2
    die "debootstrap failed (log above); is $mirror reachable? set DEBIAN_MIRROR to override"
  fi
  cat >"$work/root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  rm -f "$work/root/etc/apt/sources.list"
  chroot "$work/root" apt-get clean
  rm -rf "$work/root"/var/lib/apt/lists/* "$work/root"/var/log/* "$work/root"/tmp/* \
    "$work/root"/usr/share/doc/* "$work/root"/usr/share/man/* "$work/root"/var/cache/debconf/*-old
  tar --numeric-owner --xattrs -C "$work/root" \
    --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
  rm -rf "$work"
  trap - EXIT
  # Older tarballs (another key) are stale now.
  find "$cache_dir" -maxdepth 1 -name "base-$suite-*.tar" ! -name "base-$suite-$key.tar" -delete
fi

say "importing $tarball as $image"
ctr=$(buildah "${storage[@]}" from --quiet scratch)
trap 'buildah "${storage[@]}" rm "$ctr" >/dev/null 2>&1 || true' EXIT
buildah "${storage[@]}" add --quiet "$ctr" "$tarball" / >/dev/null
buildah "${storage[@]}" config \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env LANG=C.UTF-8 \
  --cmd python3 \
  --label "$label=$key" \
  --label "org.opencontainers.image.description=Debian $suite with python3, a local stand-in for python:3.11-slim" \
  "$ctr"
buildah "${storage[@]}" commit --quiet --rm "$ctr" "$image" >/dev/null
trap - EXIT
echo "$image"
