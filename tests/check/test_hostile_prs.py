"""Hostile and tricky pull requests, each judged on what it would deploy.

A table of pull requests against one config repo (the example: dev -> staging ->
production, api-service's NEW_API digest in dev and staging for 25h, production on the
verified OLD_API; plus a ``metrics`` component in every api-service overlay and a
configMapGenerator input in production). Each row says what ``kubectl kustomize``
renders for production (or another env) at the pull request's head, and the verdict that
rendered result deserves; each pull request runs through ``gitops-promote check`` (the
CLI, in a child process) against the real git repo.

Images change through every route kustomize offers (strategic-merge and JSON 6902
patches, inline and in files, ``patches:`` with a target, a shared base, a component,
``replacements``, ``images:`` newName swaps, a new container, initContainers, a CronJob,
an Argo Rollout, a Pod's ephemeral containers, a HelmRelease's values, CRLF files); the
honest cases (a plain promotion, a refactor that renders identically, a file no build
reads) pass.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from check.scenario import (
    API,
    NEW_API,
    OLD_API,
    OLD_WORKER,
    T0,
    WORKER,
    ConfigRepo,
    failed,
    overlay,
)
from support import gitutil
from support.repos import digest_of
from support.tools import kustomize_argv

STAGED = T0 + timedelta(hours=3)
NOW = T0 + timedelta(hours=28)  # Tuesday 13:00 UTC: staging has run NEW_API for 25h
SATURDAY = datetime.fromisoformat("2026-11-07T12:00:00+01:00")  # production's weekend freeze
EVIL = digest_of("an unverified build")

APP = "apps/api-service"
PROD = overlay("api-service", "production")
STAGING = overlay("api-service", "staging")
DEV = overlay("api-service", "dev")
PROD_DIR = f"{APP}/overlays/production"
BASE = f"{APP}/base/deployment.yaml"
BASE_K = f"{APP}/base/kustomization.yaml"
COMPONENT = f"{APP}/components/metrics"
VERIFIED = f"{API}:v1.4.0@{OLD_API}"  # what production renders on main
SHARED = f"{APP}/overlays/staging/shared"  # in staging's overlay; production builds it too

Files = Mapping[str, str | bytes | None]
Key = tuple[str, str, str]


def _production(gate: str) -> Key:
    return (gate, "api-service", "production")


def _staging(gate: str) -> Key:
    return (gate, "api-service", "staging")


# -- what main holds besides the example ------------------------------------------------------

ANNOTATE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api-service
  annotations:
    prometheus.io/scrape: "true"
"""
MAIN_EXTRAS: dict[str, str] = {
    f"{COMPONENT}/kustomization.yaml": (
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
        "patches:\n  - path: annotate.yaml\n"
    ),
    f"{COMPONENT}/annotate.yaml": ANNOTATE,
    f"{PROD_DIR}/app.properties": "log.level=info\n",
    f"{SHARED}/kustomization.yaml": "resources:\n  - settings.yaml\n",
    f"{SHARED}/settings.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n"
    ),
}


def _with_main_extras(repo: ConfigRepo) -> dict[str, str]:
    files = dict(MAIN_EXTRAS)
    for rel in (DEV, STAGING, PROD):
        files[rel] = repo.text(rel) + "components:\n  - ../../components/metrics\n"
    for rel, ref in ((STAGING, "shared"), (PROD, "../staging/shared")):
        files[rel] = files[rel].replace("  - ../../base\n", f"  - ../../base\n  - {ref}\n")
    files[PROD] = str(files[PROD]) + (
        "configMapGenerator:\n  - name: api-config\n    files:\n      - app.properties\n"
    )
    return files


# -- building blocks of the pull requests ------------------------------------------------------


def container_patch(image: str, *, field: str = "containers", name: str = "api-service") -> str:
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api-service\n"
        f"spec:\n  template:\n    spec:\n      {field}:\n"
        f"        - name: {name}\n          image: {image}\n"
    )


def inline(patch: str, indent: str = "      ") -> str:
    return "".join(f"{indent}{line}\n" for line in patch.splitlines())


def append(repo: ConfigRepo, rel: str, text: str) -> dict[str, str]:
    return {rel: repo.text(rel) + text}


def add_resource(repo: ConfigRepo, rel: str, name: str, manifest: str) -> dict[str, str]:
    """``manifest`` as a new file of the overlay, listed in its resources."""
    text = repo.text(rel).replace("  - ../../base\n", f"  - ../../base\n  - {name}\n")
    return {rel: text, f"{rel.rpartition('/')[0]}/{name}": manifest}


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


CRONJOB = """\
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
            - name: job
              image: {image}
"""
ROLLOUT = f"""\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: api-canary
spec:
  selector:
    matchLabels: {{app: api-canary}}
  template:
    metadata:
      labels: {{app: api-canary}}
    spec:
      containers:
        - name: api
          image: evil.io/api@{EVIL}
"""
POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  containers:
    - name: api
      image: ghcr.io/myorg/api-service:v0
  ephemeralContainers:
    - name: shell
      image: evil.io/debug:1
"""
HELMRELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: api-extra
spec:
  interval: 10m
  chart:
    spec:
      chart: api
      sourceRef: {kind: HelmRepository, name: charts}
  values:
    image:
      repository: evil.io/api
      tag: "1.0"
"""
REPLACEMENTS = """\
replacements:
  - source:
      kind: ConfigMap
      name: image-source
      fieldPath: data.image
    targets:
      - select:
          kind: Deployment
          name: api-service
        fieldPaths:
          - spec.template.spec.containers.0.image
"""


REFACTORED = """\
# api-service: one Deployment; the overlays pin its image (keys reordered, same object)
kind: Deployment
apiVersion: apps/v1
metadata:
  labels: {app: api-service}
  name: api-service
spec:
  selector:
    matchLabels: {app: api-service}
  replicas: 1
  template:
    metadata:
      labels: {app: api-service}
    spec:
      containers:
        - image: "ghcr.io/myorg/api-service:placeholder"
          name: api-service
          resources:
            limits: {memory: 256Mi, cpu: 500m}
"""


# -- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One pull request: its files (built from main's), the images ``kubectl kustomize``
    renders for an overlay at its head (``renders``: directory -> strings that must be in
    the output; ``absent``: strings that must not), and the verdict it deserves."""

    id: str
    files: Callable[[ConfigRepo], Files]
    code: int
    failed: frozenset[Key] = frozenset()
    renders: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    absent: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    now: datetime = NOW
    targets: frozenset[tuple[str, str]] | None = None  # the (app, env) judged, when asserted
    where: tuple[str, str, str] | None = None  # (gate, file, text of its line) in production


def _prod_patch_file(repo: ConfigRepo, image: str, **kw: str) -> Files:
    return {
        **append(repo, PROD, "patchesStrategicMerge:\n  - swap.yaml\n"),
        f"{PROD_DIR}/swap.yaml": container_patch(image, **kw),
    }


CASES = [
    # -- the honest cases
    Case(
        "plain promotion through images:",
        lambda r: r.pinned("api-service", "production", f"{API}@{NEW_API}"),
        0,
        renders={PROD_DIR: (f"image: {API}@{NEW_API}",)},
        targets=frozenset({("api-service", "production")}),
    ),
    Case(
        "a base refactor that renders identically is not a promotion",
        lambda _: {BASE: REFACTORED},
        0,
        renders={PROD_DIR: (f"image: {VERIFIED}",)},
        now=SATURDAY,
        targets=frozenset(),
    ),
    Case(
        "a base file renamed (its kustomization follows) renders identically",
        lambda r: {
            BASE: None,
            f"{APP}/base/workload.yaml": r.text(BASE),
            BASE_K: r.text(BASE_K).replace("deployment.yaml", "workload.yaml"),
        },
        0,
        now=SATURDAY,
        targets=frozenset(),
    ),
    Case(
        "a file in production's directory that no build reads is not a promotion",
        lambda _: {f"{PROD_DIR}/notes.yaml": container_patch(f"evil.io/api@{EVIL}")},
        0,
        absent={PROD_DIR: ("evil.io",)},
        now=SATURDAY,
        targets=frozenset(),
    ),
    Case(
        "a generator input of production is a change to production (passes on a Tuesday)",
        lambda _: {f"{PROD_DIR}/app.properties": "log.level=debug\n"},
        0,
        renders={PROD_DIR: ("log.level=debug",)},
        targets=frozenset({("api-service", "production")}),
    ),
    Case(
        "a generator input of production is frozen on a Saturday",
        lambda _: {f"{PROD_DIR}/app.properties": "log.level=debug\n"},
        1,
        frozenset({_production("freeze")}),
        now=SATURDAY,
    ),
    Case(
        "production scaled by hand: judged, no new image, passes",
        lambda r: {PROD: r.text(PROD).replace("count: 6", "count: 12")},
        0,
        renders={PROD_DIR: ("replicas: 12", f"image: {VERIFIED}")},
        targets=frozenset({("api-service", "production")}),
    ),
    Case(
        "a patch of the app's own repository loses to images: and renders the verified digest",
        lambda r: _prod_patch_file(r, f"{API}@{EVIL}"),
        0,
        renders={PROD_DIR: (f"image: {VERIFIED}",)},
        absent={PROD_DIR: (EVIL,)},
    ),
    Case(
        "a CronJob of the app's repository is pinned by images: to the verified digest",
        lambda r: add_resource(r, PROD, "cronjob.yaml", CRONJOB.format(image=f"{API}:nightly")),
        0,
        renders={PROD_DIR: ("kind: CronJob", f"image: {VERIFIED}")},
        absent={PROD_DIR: (f"{API}:nightly",)},
    ),
    Case(
        "dev (mode: push, not gated) may run anything",
        lambda r: append(
            r,
            DEV,
            "patches:\n  - patch: |-\n" + inline(container_patch(f"evil.io/api@{EVIL}")),
        ),
        0,
        renders={f"{APP}/overlays/dev": (f"image: evil.io/api@{EVIL}",)},
    ),
    Case(
        "a base memory change reaches every env; production is frozen on Saturday",
        lambda r: {BASE: r.text(BASE).replace("memory: 256Mi", "memory: 512Mi")},
        1,
        frozenset({_production("freeze")}),
        renders={PROD_DIR: ("memory: 512Mi",)},
        now=SATURDAY,
        targets=frozenset(
            {("api-service", "dev"), ("api-service", "staging"), ("api-service", "production")}
        ),
    ),
    Case(
        "namePrefix in the base renames the workload in every env: judged, passes on Tuesday",
        lambda r: append(r, BASE_K, "namePrefix: v2-\n"),
        0,
        renders={PROD_DIR: ("name: v2-api-service",)},
        targets=frozenset(
            {("api-service", "dev"), ("api-service", "staging"), ("api-service", "production")}
        ),
    ),
    Case(
        "namePrefix in production renames its workload: frozen on Saturday",
        lambda r: append(r, PROD, "namePrefix: canary-\n"),
        1,
        frozenset({_production("freeze")}),
        renders={PROD_DIR: ("name: canary-api-service",)},
        now=SATURDAY,
    ),
    # -- images swapped behind images:
    Case(
        "strategic-merge patch inline swaps production to an unknown repository",
        lambda r: append(
            r, PROD, "patches:\n  - patch: |-\n" + inline(container_patch(f"evil.io/api@{EVIL}"))
        ),
        1,
        frozenset({_production("upstream")}),
        renders={PROD_DIR: (f"image: evil.io/api@{EVIL}",)},
        where=("upstream", PROD, f"image: evil.io/api@{EVIL}"),
    ),
    Case(
        "strategic-merge patch file swaps production to another app's digest",
        lambda r: _prod_patch_file(r, f"{WORKER}@{OLD_WORKER}"),
        1,
        frozenset({_production("upstream")}),
        renders={PROD_DIR: (f"image: {WORKER}@{OLD_WORKER}",)},
        where=("upstream", f"{PROD_DIR}/swap.yaml", f"image: {WORKER}@{OLD_WORKER}"),
    ),
    Case(
        "JSON 6902 patch inline (patches: with a target) swaps in a mutable tag",
        lambda r: append(
            r,
            PROD,
            "patches:\n  - target:\n      kind: Deployment\n      name: api-service\n"
            "    patch: |-\n      - op: replace\n"
            "        path: /spec/template/spec/containers/0/image\n"
            "        value: evil.io/api:latest\n",
        ),
        1,
        frozenset({_production("upstream"), _production("pinning")}),
        renders={PROD_DIR: ("image: evil.io/api:latest",)},
        where=("pinning", PROD, "value: evil.io/api:latest"),
    ),
    Case(
        "JSON 6902 patch file (patchesJson6902) swaps production to another app's image",
        lambda r: {
            **append(
                r,
                PROD,
                "patchesJson6902:\n  - target:\n      group: apps\n      version: v1\n"
                "      kind: Deployment\n      name: api-service\n    path: swap.json.yaml\n",
            ),
            f"{PROD_DIR}/swap.json.yaml": (
                "- op: replace\n  path: /spec/template/spec/containers/0/image\n"
                f"  value: {WORKER}@{OLD_WORKER}\n"
            ),
        },
        1,
        frozenset({_production("upstream")}),
        renders={PROD_DIR: (f"image: {WORKER}@{OLD_WORKER}",)},
        where=("upstream", f"{PROD_DIR}/swap.json.yaml", f"value: {WORKER}@{OLD_WORKER}"),
    ),
    Case(
        "patches: path with a target selector swaps production",
        lambda r: {
            **append(
                r, PROD, "patches:\n  - path: swap.yaml\n    target:\n      kind: Deployment\n"
            ),
            f"{PROD_DIR}/swap.yaml": container_patch(f"evil.io/api@{EVIL}"),
        },
        1,
        frozenset({_production("upstream")}),
        renders={PROD_DIR: (f"image: evil.io/api@{EVIL}",)},
    ),
    Case(
        "a shared base edit swaps the image name: images: no longer matches anywhere",
        lambda r: {BASE: r.text(BASE).replace(f"{API}:placeholder", "evil.io/api:1")},
        1,
        frozenset({_staging("upstream"), _production("upstream"), _production("pinning")}),
        renders={PROD_DIR: ("image: evil.io/api:1",)},
        where=("upstream", BASE, "image: evil.io/api:1"),
    ),
    Case(
        "images: newName in the base renames the image before the overlays pin it",
        lambda r: append(r, BASE_K, f"images:\n  - name: {API}\n    newName: evil.io/api\n"),
        1,
        frozenset({_staging("upstream"), _production("upstream"), _production("pinning")}),
        renders={PROD_DIR: ("image: evil.io/api:placeholder",)},
    ),
    Case(
        "a component edit adds an unpinned initContainer to every env using it",
        lambda _: {
            f"{COMPONENT}/annotate.yaml": ANNOTATE
            + "spec:\n  template:\n    spec:\n      initContainers:\n"
            "        - name: setup\n          image: busybox:1.36\n"
        },
        1,
        frozenset({_staging("upstream"), _production("upstream"), _production("pinning")}),
        renders={PROD_DIR: ("image: busybox:1.36",)},
        where=("upstream", f"{COMPONENT}/annotate.yaml", "image: busybox:1.36"),
    ),
    Case(
        "a new component added to production brings a container",
        lambda r: {
            PROD: r.text(PROD).replace(
                "  - ../../components/metrics\n",
                "  - ../../components/metrics\n  - ../../components/debug\n",
            ),
            f"{APP}/components/debug/kustomization.yaml": (
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
                "patches:\n  - path: debug.yaml\n"
            ),
            f"{APP}/components/debug/debug.yaml": container_patch(
                f"evil.io/debug@{EVIL}", name="debug"
            ),
        },
        1,
        frozenset({_production("upstream")}),
        renders={PROD_DIR: (f"image: evil.io/debug@{EVIL}", f"image: {VERIFIED}")},
    ),
    Case(
        "replacements copy an image from a ConfigMap into the Deployment",
        lambda r: {
            **add_resource(
                r,
                PROD,
                "image-source.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: image-source\n"
                f"data:\n  image: evil.io/api@{EVIL}\n",
            ),
            PROD: add_resource(r, PROD, "image-source.yaml", "")[PROD] + REPLACEMENTS,
        },
        1,
        frozenset({_production("upstream")}),
        renders={PROD_DIR: (f"image: evil.io/api@{EVIL}",)},
    ),
    Case(
        "images: newName swaps production to an unknown repository with the same digest",
        lambda r: {
            PROD: r.text(PROD).replace(
                f"  - name: {API}\n", f"  - name: {API}\n    newName: evil.io/api\n"
            )
        },
        1,
        frozenset({_production("upstream"), _production("soak")}),
        renders={PROD_DIR: (f"image: evil.io/api:v1.4.0@{OLD_API}",)},
    ),
    Case(
        "images: newName swaps production to another app's repository",
        lambda r: {
            PROD: r.text(PROD).replace(
                f"  - name: {API}\n", f"  - name: {API}\n    newName: {WORKER}\n"
            )
        },
        1,
        frozenset({_production("upstream"), _production("soak")}),
        renders={PROD_DIR: (f"image: {WORKER}:v1.4.0@{OLD_API}",)},
    ),
    Case(
        "a new container with an unknown repository and a mutable tag",
        lambda r: _prod_patch_file(r, "busybox:1.36", name="sidecar"),
        1,
        frozenset({_production("upstream"), _production("pinning")}),
        renders={PROD_DIR: ("image: busybox:1.36", f"image: {VERIFIED}")},
        where=("pinning", f"{PROD_DIR}/swap.yaml", "image: busybox:1.36"),
    ),
    Case(
        "an initContainer of another app's repository, pinned by digest",
        lambda r: _prod_patch_file(r, f"{WORKER}@{OLD_WORKER}", field="initContainers"),
        1,
        frozenset({_production("upstream")}),
        renders={PROD_DIR: ("initContainers:", f"image: {WORKER}@{OLD_WORKER}")},
    ),
    Case(
        "a CronJob with an unknown repository",
        lambda r: add_resource(
            r, PROD, "cronjob.yaml", CRONJOB.format(image=f"evil.io/job@{EVIL}")
        ),
        1,
        frozenset({_production("upstream")}),
        renders={PROD_DIR: (f"image: evil.io/job@{EVIL}",)},
        where=("upstream", f"{PROD_DIR}/cronjob.yaml", f"image: evil.io/job@{EVIL}"),
    ),
    Case(
        "an Argo Rollout with an unknown repository",
        lambda r: add_resource(r, PROD, "rollout.yaml", ROLLOUT),
        1,
        frozenset({_production("upstream")}),
        renders={PROD_DIR: ("kind: Rollout", f"image: evil.io/api@{EVIL}")},
    ),
    Case(
        "a Pod's ephemeral container with a mutable tag",
        lambda r: add_resource(r, PROD, "pod.yaml", POD),
        1,
        frozenset({_production("upstream"), _production("pinning")}),
        renders={PROD_DIR: ("ephemeralContainers:", "image: evil.io/debug:1")},
    ),
    Case(
        "a HelmRelease whose values name an unknown repository",
        lambda r: add_resource(r, PROD, "helmrelease.yaml", HELMRELEASE),
        1,
        frozenset({_production("upstream"), _production("pinning")}),
        renders={PROD_DIR: ("kind: HelmRelease", "repository: evil.io/api")},
    ),
    Case(
        "a CRLF kustomization with an inline patch",
        lambda r: {
            PROD: crlf(
                r.text(PROD)
                + "patches:\n  - patch: |-\n"
                + inline(container_patch(f"evil.io/api@{EVIL}"))
            )
        },
        1,
        frozenset({_production("upstream")}),
        renders={PROD_DIR: (f"image: evil.io/api@{EVIL}",)},
    ),
    Case(
        "a CRLF patch file",
        lambda r: {
            **append(r, PROD, "patchesStrategicMerge:\n  - swap.yaml\n"),
            f"{PROD_DIR}/swap.yaml": crlf(container_patch(f"evil.io/api@{EVIL}")),
        },
        1,
        frozenset({_production("upstream")}),
        renders={PROD_DIR: (f"image: evil.io/api@{EVIL}",)},
    ),
    Case(
        "a file inside staging's overlay that production builds too reaches both",
        lambda _: {f"{SHARED}/settings.yaml": CRONJOB.format(image=f"evil.io/job@{EVIL}")},
        1,
        frozenset({_staging("upstream"), _production("upstream")}),
        renders={PROD_DIR: (f"image: evil.io/job@{EVIL}",)},
        where=("upstream", f"{SHARED}/settings.yaml", f"image: evil.io/job@{EVIL}"),
    ),
    Case(
        "staging swapped to another app's mutable tag through a patch",
        lambda r: append(
            r, STAGING, "patches:\n  - patch: |-\n" + inline(container_patch(f"{WORKER}:latest"))
        ),
        1,
        frozenset({_staging("upstream")}),
        renders={f"{APP}/overlays/staging": (f"image: {WORKER}:latest",)},
    ),
]


# -- running them -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> ConfigRepo:
    """The example config repo with the component and generator input on main, and
    NEW_API promoted dev (T0+1h) -> staging (T0+3h)."""
    kustomize_argv()
    config = ConfigRepo(tmp_path_factory.mktemp("hostile") / "config")
    config.commit(_with_main_extras(config), at=T0, message="metrics component, app config")
    config.promote("api-service", "dev", f"{API}@{NEW_API}", at=T0 + timedelta(hours=1))
    config.promote("api-service", "staging", f"{API}@{NEW_API}", at=STAGED)
    return config


def kubectl_renders(root: Path, directory: str) -> str:
    """What kustomize itself renders for ``directory`` of the checked-out tree."""
    proc = subprocess.run(
        [*kustomize_argv(), str(root / directory)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def open_pull_request(repo: ConfigRepo, case: Case, branch: str) -> None:
    repo.switch("main")
    repo.branch(branch)
    repo.commit(case.files(repo), at=STAGED + timedelta(hours=1), message=case.id)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_pull_request(repo: ConfigRepo, case: Case) -> None:
    """The check's verdict is the one the rendered result deserves: every image a gated
    env would newly run is what its upstream runs and known to promotion.yaml, production
    runs digests only, and a change that renders nothing new is not a promotion."""
    branch = f"pr-{CASES.index(case)}"
    open_pull_request(repo, case, branch)
    try:
        for directory, wanted in case.renders.items():
            out = kubectl_renders(repo.root, directory)
            for text in wanted:
                assert text in out, (directory, text, out)
        for directory, unwanted in case.absent.items():
            out = kubectl_renders(repo.root, directory)
            for text in unwanted:
                assert text not in out, (directory, text, out)
        data = repo.check_json(now=case.now, code=case.code)
    finally:
        repo.switch("main")
    assert set(failed(data)) == set(case.failed), data["results"]
    if case.targets is not None:
        assert {(t["app"], t["env"]) for t in data["targets"]} == case.targets
    if case.where is not None:
        gate, file, text = case.where
        (hit,) = [
            r
            for r in data["results"]
            if r["gate"] == gate and r["env"] == "production" and not r["passed"]
        ]
        assert hit["file"] == file, hit
        line = gitutil.read_file(repo.root, branch, file).decode().splitlines()[hit["line"] - 1]
        assert text in line, (hit, line)


def test_there_are_at_least_thirty_cases() -> None:
    """The table holds at least 30 pull requests, each with its own name."""
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


# -- a Helm values environment ----------------------------------------------------------------

WEB = "ghcr.io/myorg/web"
OLD_WEB, NEW_WEB = digest_of("web 1"), digest_of("web 2")


def values(digest: str, extra: str = "") -> str:
    return f"replicaCount: 2\nimage:\n  repository: {WEB}\n  digest: {digest}\n{extra}"


@pytest.mark.parametrize(
    ("extra", "digest", "code", "blocking"),
    [
        ("", NEW_WEB, 0, set()),
        ("sidecar:\n  image: evil.io/s:1\n", OLD_WEB, 1, {"upstream", "pinning"}),
        (
            "sidecar:\n  image:\n    name: evil.io/s\n    tag: '1'\n",
            OLD_WEB,
            1,
            {"upstream", "pinning"},
        ),
    ],
    ids=["promotion", "sidecar image string", "sidecar {name, tag}"],
)
def test_helm_values_env_is_judged_on_every_image_its_values_declare(
    tmp_path: Path, extra: str, digest: str, code: int, blocking: set[str]
) -> None:
    """An env whose overlay is a Helm values file is judged on the images the values
    declare: a plain promotion of staging's digest passes; a sidecar image added beside
    the unchanged pin (unknown repository, mutable tag) fails on its line."""
    promotion = (Path(__file__).parents[2] / "examples/config-repo/promotion.yaml").read_text()
    promotion += "  web:\n    image: ghcr.io/myorg/web\n    path: charts/web/values-{env}.yaml\n"
    repo = ConfigRepo(
        tmp_path / "config",
        files={
            "promotion.yaml": promotion,
            "charts/web/values-dev.yaml": values(NEW_WEB),
            "charts/web/values-staging.yaml": values(NEW_WEB),
            "charts/web/values-production.yaml": values(OLD_WEB),
        },
    )
    repo.branch("pr")
    rel = "charts/web/values-production.yaml"
    repo.commit({rel: values(digest, extra)}, at=STAGED, message="web")
    data = repo.check_json(now=NOW, code=code)
    assert {g for g, app, env in failed(data) if (app, env) == ("web", "production")} == blocking
    assert len(failed(data)) == len(blocking)
    for hit in (r for r in data["results"] if not r["passed"] and r["severity"] == "error"):
        assert hit["file"] == rel
        assert "evil.io/s" in values(digest, extra).splitlines()[hit["line"] - 1]
