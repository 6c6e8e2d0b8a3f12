"""Rendering at the edge: real kustomize, nothing from the pull request executed.

Helm charts, plugins and KRM functions are refused before kustomize runs, and kustomize
runs with plugins and Helm disabled anyway; it gets no token, a bounded time, and only the
regular files of the tree (no symlinks out of it).
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

import pytest

from gitops_promote.adapters import kustomize as render
from gitops_promote.adapters.git import Git, Repo
from gitops_promote.facts import merged, renders
from gitops_promote.facts.judged import RenderFact
from support import gitutil
from support.tools import kustomize_argv

DIGEST = "sha256:" + "ab" * 32
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  template:
    spec:
      containers: [{name: api, image: ghcr.io/o/api:placeholder}]
"""


@pytest.fixture
def renderer() -> render.Renderer:
    kustomize_argv()  # fails under CI=true when missing
    found = render.find_renderer(timeout=60)
    assert found is not None
    return found


def write(root: Path, files: dict[str, str]) -> Path:
    gitutil.write_files(root, files)
    return root


def overlay(extra: str = "") -> dict[str, str]:
    return {
        "base/deployment.yaml": DEPLOYMENT,
        "base/kustomization.yaml": "resources: [deployment.yaml]\n",
        "prod/kustomization.yaml": (
            "namespace: prod\nresources: [../base]\n"
            f"images:\n  - name: ghcr.io/o/api\n    digest: {DIGEST}\n" + extra
        ),
    }


def test_renders_objects_with_the_pinned_digest(tmp_path: Path, renderer: render.Renderer) -> None:
    """A plain overlay renders to its objects; the image is exactly name@digest."""
    done = render.render(renderer, write(tmp_path, overlay()), "prod")
    assert done.ok, done.error
    (deployment,) = done.objects
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"ghcr.io/o/api@{DIGEST}"
    assert deployment["metadata"]["namespace"] == "prod"


def exec_plugin(root: Path) -> Path:
    """An executable that would leave a marker file if anything ran it."""
    marker = root / "RAN"
    script = root / "prod" / "plugin.sh"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(f"#!/bin/sh\ntouch {marker}\necho 'kind: ConfigMap'\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return marker


FUNCTION = """\
apiVersion: example.com/v1
kind: Generator
metadata:
  name: gen
  annotations:
    config.kubernetes.io/function: |
      exec:
        path: ./plugin.sh
"""

REFUSED = [
    (
        "helm chart",
        "helmCharts:\n  - name: x\n    repo: https://charts.example\n",
        {},
        "uses helmCharts:",
    ),
    (
        "KRM exec function",
        "generators: [gen.yaml]\n",
        {"prod/gen.yaml": FUNCTION},
        "plugin or KRM function",
    ),
    (
        "external plugin",
        "transformers: [t.yaml]\n",
        {
            "prod/t.yaml": (
                "apiVersion: someteam.example.com/v1\nkind: ChartInflator\nmetadata: {name: t}\n"
            )
        },
        "ChartInflator (someteam.example.com/v1",
    ),
    (
        "function in a base",
        "",
        {
            "base/kustomization.yaml": "resources: [deployment.yaml]\ngenerators: [gen.yaml]\n",
            "base/gen.yaml": FUNCTION,
        },
        "base/kustomization.yaml:2: generators:",
    ),
]


@pytest.mark.parametrize(("case", "extra", "files", "words"), REFUSED, ids=[c[0] for c in REFUSED])
def test_code_from_the_pr_is_refused(
    tmp_path: Path,
    renderer: render.Renderer,
    case: str,
    extra: str,
    files: dict[str, str],
    words: str,
) -> None:
    """Helm, plugins and KRM functions are refused with one line, and nothing runs."""
    root = write(tmp_path, {**overlay(extra), **files})
    marker = exec_plugin(root)
    done = render.render(renderer, root, "prod")
    assert done.refused
    assert words in (done.error or "")
    assert "does not" in (done.error or "")
    assert not marker.exists()


def test_kustomize_itself_runs_no_plugin(
    tmp_path: Path, renderer: render.Renderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defence in depth: even when the refusal is bypassed, kustomize runs with plugins
    disabled, fails, and the exec plugin never runs."""
    root = write(tmp_path, {**overlay("generators: [gen.yaml]\n"), "prod/gen.yaml": FUNCTION})
    marker = exec_plugin(root)
    monkeypatch.setattr(render, "refusal", lambda *_: None)
    done = render.render(renderer, root, "prod")
    assert not done.ok
    assert not marker.exists()


def fake_kustomize(tmp_path: Path, body: str) -> render.Renderer:
    script = tmp_path / "fake-kustomize"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return render.Renderer((str(script),), (), timeout=2)


def test_no_token_or_credentials_reach_kustomize(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child gets PATH and a throwaway HOME: no GitHub token, kubeconfig or git config."""
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_secret_token_value")
    monkeypatch.setenv("GITOPS_PROMOTE_TOKEN", "another_secret")
    monkeypatch.setenv("KUBECONFIG", "/root/.kube/config")
    seen = tmp_path / "env.txt"
    fake = fake_kustomize(
        tmp_path, f"env > {seen}\necho 'kind: ConfigMap'\necho 'metadata: {{name: x}}'\n"
    )
    root = write(tmp_path / "tree", overlay())
    done = render.render(fake, root, "prod")
    assert done.ok, done.error
    env = seen.read_text()
    assert "secret" not in env
    assert "KUBECONFIG" not in env
    assert "GIT_CONFIG_GLOBAL=/dev/null" in env


def test_render_is_time_limited(tmp_path: Path) -> None:
    """A render that hangs is stopped (with its children) and reported, not waited for."""
    pidfile = tmp_path / "child.pid"
    fake = fake_kustomize(tmp_path, f"sleep 300 &\necho $! > {pidfile}\nwait\n")
    done = render.render(fake, write(tmp_path / "tree", overlay()), "prod")
    assert done.error == "rendering prod took longer than 2 s and was stopped (a slow remote base?)"
    child = int(pidfile.read_text())
    assert not alive(child)


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a killed child that nobody reaped yet is a zombie: dead)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return False
    return fields[0] not in ("Z", "X")


def test_build_failure_is_one_line_without_temp_paths(
    tmp_path: Path, renderer: render.Renderer
) -> None:
    """A broken overlay's error names the overlay and kustomize's reason, relative paths only."""
    root = write(
        tmp_path,
        {
            **overlay(),
            "prod/kustomization.yaml": "resources: [bad.yaml]\n",
            "prod/bad.yaml": "a: [\n",
        },
    )
    done = render.render(renderer, root, "prod")
    assert done.error is not None
    assert done.error.startswith("cannot render prod: ")
    assert str(tmp_path) not in done.error
    assert "\n" not in done.error


def test_files_outside_the_overlay_root_stay_out(tmp_path: Path, renderer: render.Renderer) -> None:
    """kustomize keeps its default load restrictor: a patch outside the overlay is refused."""
    root = write(
        tmp_path, {**overlay("patches:\n  - path: ../secret.yaml\n"), "secret.yaml": "x: 1\n"}
    )
    done = render.render(renderer, root, "prod")
    assert not done.ok


def test_materialise_writes_regular_files_only(tmp_path: Path) -> None:
    """The tree on disk has the repository's regular files; a symlink (here to /etc) is
    not followed or written, so kustomize cannot read outside the tree through it."""
    work = gitutil.init_repo(tmp_path / "repo")
    (work / "prod").mkdir()
    (work / "prod" / "kustomization.yaml").write_text("resources: []\n")
    (work / "prod" / "etc").symlink_to("/etc")
    gitutil.commit_files(work, {}, message="tree")
    repo = Repo(Git(cwd=work), work, base_branch="main")
    entries = merged.ls_tree(repo, "HEAD")
    assert entries["prod/etc"][0] == "120000"
    dest = tmp_path / "out"
    merged.materialise(repo, entries, dest)
    assert (dest / "prod" / "kustomization.yaml").read_text() == "resources: []\n"
    assert not (dest / "prod" / "etc").exists()
    assert not (dest / "prod" / "etc").is_symlink()


def test_renders_from_the_overlays_inputs_and_agrees_with_the_whole_tree(
    tmp_path: Path, renderer: render.Renderer
) -> None:
    """Only the files an overlay is built from are written out (its kustomization, the
    bases, components, patches and generator files it references), and every overlay
    renders to exactly what it renders to from the whole tree: also one that reads a file
    no kustomization field names (rendered again from the whole tree), one with two
    kustomization files, and a broken one (same error)."""
    from gitops_promote.facts import changes

    files = {
        **overlay(
            "components: [../comp]\npatches:\n  - path: patch.yaml\n"
            "configMapGenerator:\n  - name: cfg\n    files: [app.properties]\n"
        ),
        "prod/patch.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\n"
        "spec: {replicas: 3}\n",
        "prod/app.properties": "a=1\n",
        "comp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\n"
        "kind: Component\ncommonLabels: {team: core}\n",
        "gen/kustomization.yaml": "generators: [gen.yaml]\n",
        "gen/gen.yaml": "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: g}\n"
        "files: [data.txt]\n",
        "gen/data.txt": "hello\n",
        "two/kustomization.yaml": "resources: []\n",
        "two/kustomization.yml": "resources: []\n",
        "broken/kustomization.yaml": "resources: [nothing.yaml]\n",
        **{f"other/app{n}/kustomization.yaml": "resources: [x.yaml]\n" for n in range(20)},
        **{f"other/app{n}/x.yaml": "kind: ConfigMap\n" for n in range(20)},
    }
    work = gitutil.init_repo(tmp_path / "repo")
    gitutil.commit_files(work, files, message="tree")
    repo = Repo(Git(cwd=work), work, base_branch="main")
    entries = merged.ls_tree(repo, "HEAD")
    tree = changes.Tree.of("HEAD", entries)
    inputs = renders.render_inputs(repo, entries, tree, ["prod"])
    assert inputs == {
        "prod/kustomization.yaml",
        "prod/patch.yaml",
        "prod/app.properties",
        "base/kustomization.yaml",
        "base/deployment.yaml",
        "comp/kustomization.yaml",
    }
    dirs = ["prod", "gen", "two", "broken"]
    minimal = renders.renders(repo, entries, dirs, renderer, tree=tree)
    whole = renders.renders(repo, entries, dirs, renderer)

    def steady(facts: dict[str, RenderFact]) -> dict[str, Any]:
        """kubectl's log prefix (time, process id) varies from run to run."""
        klog = re.compile(r"[EWI]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] ")
        return {d: (f.objects, klog.sub("", f.error or ""), f.refused) for d, f in facts.items()}

    assert steady(minimal) == steady(whole)
    assert minimal["prod"].error is None
    assert minimal["gen"].error is None
    assert minimal["two"].error is not None
    assert minimal["broken"].error is not None
