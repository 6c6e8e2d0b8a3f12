"""Hermetic rendering: the check never opens a network connection and never reads a file
outside the repository, and a gated env it cannot render so fails the check.

Hostile overlays are committed to real git repos and rendered by
:func:`gitops_promote.facts.renders.renders` with real kustomize (``kubectl kustomize``), as
``check`` renders them: URLs and git remotes in every field that names a file (a local
HTTP server must see zero requests), ``../`` walks to directories beside the repository
(with and without a kustomization), absolute paths, symlinks in and out of the repository,
keys spelt the ways kustomize still reads them (capitals, a long s, CRLF, a BOM, merge
keys, a second document, a duplicate key, ``!!binary``), and Helm keys. Each is refused
before kustomize runs, naming the file and line that asks for it; nothing from outside
reaches the result. Symlinks that stay inside the repository render as Argo CD renders
them. The important cases also run end to end through ``gitops-promote check``.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest

from check.scenario import API, NEW_API, T0, ConfigRepo, failed, overlay, result
from gitops_promote.adapters import kustomize as render
from gitops_promote.adapters.git import Git, Repo
from gitops_promote.config.model import App, Config, DriftOptions, Environment, Severity
from gitops_promote.facts import merged, renders
from gitops_promote.facts.changes import ChangeSet, Edit, Tree
from gitops_promote.facts.judged import Facts, RenderFact
from gitops_promote.plan.gates.evaluate import CheckResult, evaluate
from support import gitutil
from support.tools import kustomize_argv
from support.tripwire import LEAKED, Tripwire, tripwire

OVERLAY = "apps/api/overlays/production"
KFILE = f"{OVERLAY}/kustomization.yaml"
BASE_K = "apps/api/base/kustomization.yaml"
UP = "../../../../.."  # from the overlay to the directory that holds the repository
OUTSIDE = "OUTSIDE-THE-REPOSITORY"  # in every file beside the repository
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
HEAD = "resources:\n  - ../../base\n"  # lines 1-2 of most hostile overlays


@pytest.fixture
def renderer() -> render.Renderer:
    kustomize_argv()  # fails under CI=true when missing
    found = render.find_renderer(timeout=60)
    assert found is not None
    return found


@pytest.fixture
def wire() -> Iterator[Tripwire]:
    with tripwire() as server:
        yield server


@dataclass(frozen=True)
class Case:
    """One hostile overlay: the production kustomization (``{url}``, ``{git}``,
    ``{b64}`` and ``{world}`` are filled in), more files, symlinks (path -> target), what
    the refusal must say, and the file and line it must name."""

    name: str
    kustomization: str | None
    says: str
    line: int | None
    file: str = KFILE
    files: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    encoding: str = "utf-8"


def gen(key: str, value: str, *, kind: str = "configMapGenerator") -> str:
    """An overlay whose generator names ``value`` under ``key`` on line 6."""
    return HEAD + f"{kind}:\n  - name: cfg\n    {key}:\n      - {value}\n"


BUILTIN_GENERATOR = (
    "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {{name: g}}\nfiles:\n  - {url}\n"
)
URL = "is a URL or git remote"
LEAVES = "leaves the repository"
ABSOLUTE = "is an absolute path"

HOSTILE = [
    # -- URLs and git remotes, in every field that names a file -------------------------
    Case("resources URL", HEAD + "  - {url}\n", URL, 3),
    Case("bases URL", "bases:\n  - {url}\n", URL, 2),
    Case("components URL", HEAD + "components:\n  - {url}\n", URL, 4),
    Case("crds URL", HEAD + "crds:\n  - {url}\n", URL, 4),
    Case("configurations URL", HEAD + "configurations:\n  - {url}\n", URL, 4),
    Case("patches path URL", HEAD + "patches:\n  - path: {url}\n", URL, 4),
    Case(
        "patchesJson6902 path URL",
        HEAD + "patchesJson6902:\n  - target: {{kind: Deployment, name: api}}\n    path: {url}\n",
        URL,
        5,
    ),
    Case("patchesStrategicMerge URL", HEAD + "patchesStrategicMerge:\n  - {url}\n", URL, 4),
    Case("replacements path URL", HEAD + "replacements:\n  - path: {url}\n", URL, 4),
    Case("openapi path URL", HEAD + "openapi:\n  path: {url}\n", URL, 4),
    Case("configMapGenerator files URL", gen("files", "{url}"), URL, 6),
    Case("configMapGenerator files key=URL", gen("files", "app.yaml={url}"), URL, 6),
    Case("secretGenerator envs URL", gen("envs", "{url}", kind="secretGenerator"), URL, 6),
    Case(
        "secretGenerator env URL",
        HEAD + "secretGenerator:\n  - name: s\n    env: {url}\n",
        URL,
        5,
    ),
    Case(
        "builtin generator config file with a URL",
        HEAD + "generators:\n  - gen.yaml\n",
        URL,
        4,
        files={f"{OVERLAY}/gen.yaml": BUILTIN_GENERATOR},
    ),
    Case(
        "inline builtin generator config with a URL",
        HEAD
        + "generators:\n  - |\n"
        + "".join(f"    {line}\n" for line in BUILTIN_GENERATOR.splitlines()),
        URL,
        4,
    ),
    Case(
        "URL in the shared base",
        None,
        URL,
        3,
        file=BASE_K,
        files={BASE_K: "resources:\n  - deployment.yaml\n  - {url}\n"},
    ),
    Case("git remote over HTTP", HEAD + "  - {git}\n", URL, 3),
    Case(
        "github.com remote with ?ref=",
        HEAD + "  - github.com/example/config//deploy?ref=v1\n",
        "is a git remote",
        3,
    ),
    Case("git@ remote", HEAD + "  - git@github.com:example/config.git\n", URL, 3),
    # -- keys and encodings kustomize still reads ----------------------------------------
    Case("key in capitals", "RESOURCES:\n  - ../../base\n  - {url}\n", URL, 3),
    Case("key with a long s", "re\u017fources:\n  - ../../base\n  - {url}\n", URL, 3),
    Case("CRLF line ends", (HEAD + "  - {url}\n").replace("\n", "\r\n"), URL, 3),
    Case("byte order mark", "\ufeff" + HEAD + "  - {url}\n", URL, 3),
    Case(
        "UTF-16 kustomization",
        "\ufeff" + HEAD + "  - {url}\n",
        "cannot be read safely",
        None,
        encoding="utf-16-le",
    ),
    Case("merge key", "<<: {{resources: [{url}]}}\n", URL, 1),
    Case("!!binary key", "!!binary cmVzb3VyY2Vz:\n  - {url}\n", URL, 2),
    Case("key with a custom tag", "!anything resources:\n  - {url}\n", URL, 2),
    Case("second YAML document", HEAD + "---\nresources:\n  - {url}\n", URL, 5),
    Case("duplicate key", HEAD + "resources:\n  - {url}\n", "twice in one mapping", 3),
    Case("!!binary entry", HEAD + "  - !!binary {b64}\n", "is not a plain string", 3),
    # -- ../ walks and absolute paths ----------------------------------------------------
    Case("../ walk to a kustomization", HEAD + f"  - {UP}/outside\n", LEAVES, 3),
    Case("../ walk to a plain directory", HEAD + f"  - {UP}/outside-plain\n", LEAVES, 3),
    Case(
        "../ walk in the base", None, LEAVES, 2, BASE_K, {BASE_K: f"resources:\n  - {UP}/outside\n"}
    ),
    Case("absolute path to a kustomization", HEAD + "  - {world}/outside\n", ABSOLUTE, 3),
    Case("generator files /etc/passwd", gen("files", "/etc/passwd"), ABSOLUTE, 6),
    Case("generator files ../ walk", gen("files", f"{UP}/secret"), LEAVES, 6),
    Case("generator envs ../ walk", gen("envs", f"{UP}/secret"), LEAVES, 6),
    Case("crds /etc/passwd", HEAD + "crds:\n  - /etc/passwd\n", ABSOLUTE, 4),
    Case("configurations ../ walk", HEAD + f"configurations:\n  - {UP}/secret\n", LEAVES, 4),
    Case(
        "builtin transformer config reading /etc/passwd",
        HEAD + "transformers:\n  - t.yaml\n",
        ABSOLUTE,
        4,
        files={
            f"{OVERLAY}/t.yaml": "apiVersion: builtin\nkind: PatchTransformer\n"
            "metadata: {{name: t}}\npath: /etc/passwd\n"
        },
    ),
    # -- symlinks out of the repository --------------------------------------------------
    Case(
        "symlink to a file outside (absolute)",
        gen("files", "secret.txt"),
        "is a symlink to",
        6,
        links={f"{OVERLAY}/secret.txt": "{world}/secret"},
    ),
    Case(
        "symlink to a file outside (relative)",
        gen("files", "secret.txt"),
        "leaves the repository",
        6,
        links={f"{OVERLAY}/secret.txt": f"{UP}/secret"},
    ),
    Case(
        "symlinked directory outside",
        HEAD + "  - shared\n",
        "is a symlink to",
        3,
        links={f"{OVERLAY}/shared": f"{UP}/outside"},
    ),
    Case(
        "kustomization.yaml symlinked outside",
        None,
        "the kustomization file",
        None,
        links={KFILE: "{world}/outside/kustomization.yaml"},
    ),
    Case(
        "symlink loop",
        HEAD + "  - loop\n",
        "is a symlink loop",
        3,
        links={f"{OVERLAY}/loop": "loop2", f"{OVERLAY}/loop2": "loop"},
    ),
    # -- keys that would run code, however inert -----------------------------------------
    Case("helmGlobals", HEAD + "helmGlobals:\n  chartHome: charts\n", "uses helmGlobals:", 3),
    Case("helmCharts in capitals", HEAD + "HELMCHARTS:\n  - name: x\n", "uses helmCharts:", 3),
]


def world(tmp_path: Path, case: Case, wire: Tripwire) -> tuple[Path, dict[str, str]]:
    """The repository (committed) beside an ``outside`` kustomization, a plain
    ``outside-plain`` directory and a ``secret`` file, each holding :data:`OUTSIDE`."""
    top = tmp_path / "world"
    manifest = (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: outside}}\ndata: {{x: {OUTSIDE}}}\n"
    )
    gitutil.write_files(
        top,
        {
            "outside/kustomization.yaml": "resources: [cm.yaml]\n",
            "outside/cm.yaml": manifest,
            "outside-plain/cm.yaml": manifest,
            "secret": f"password={OUTSIDE}\n",
        },
    )
    fill = {
        "url": wire.url("resource.yaml"),
        "git": wire.url("org/config.git//deploy?ref=main"),
        "b64": base64.b64encode(wire.url("binary.yaml").encode()).decode(),
        "world": str(top),
    }
    files: dict[str, gitutil.FileContent] = {
        "apps/api/base/deployment.yaml": DEPLOYMENT,
        BASE_K: "resources:\n  - deployment.yaml\n",
        KFILE: HEAD + f"images:\n  - name: ghcr.io/o/api\n    digest: {DIGEST}\n",
    }
    if case.kustomization is not None:
        files[KFILE] = case.kustomization.format(**fill).encode(case.encoding)
    files.update({k: v.format(**fill).encode() for k, v in case.files.items()})
    if KFILE in case.links:
        del files[KFILE]
    work = gitutil.init_repo(top / "repo")
    gitutil.write_files(work, files)
    for link, target in case.links.items():
        (work / link).parent.mkdir(parents=True, exist_ok=True)
        (work / link).symlink_to(target.format(**fill))
    gitutil.commit_files(work, {}, message=case.name)
    return work, fill


def rendered(work: Path, renderer: render.Renderer, *dirs: str) -> list[dict[str, RenderFact]]:
    """Each overlay rendered as ``check`` renders it: from the files it is built from,
    and from the whole tree."""
    repo = Repo(Git(cwd=work), work, base_branch="main")
    entries = merged.ls_tree(repo, "HEAD")
    tree = Tree.of("HEAD", (p for p, (m, _) in entries.items() if m in ("100644", "100755")))
    return [
        renders.renders(repo, entries, dirs, renderer, tree=tree),
        renders.renders(repo, entries, dirs, renderer),
    ]


@pytest.mark.parametrize("case", HOSTILE, ids=[c.name for c in HOSTILE])
def test_hostile_overlays_are_refused_before_kustomize_runs(
    tmp_path: Path, renderer: render.Renderer, wire: Tripwire, case: Case
) -> None:
    """Every hostile overlay is refused, naming the file and line that asks for the URL,
    the path out of the repository or the code; the local HTTP server sees zero requests
    and nothing from outside the repository (or the network) reaches the result."""
    work, _fill = world(tmp_path, case, wire)
    for facts in rendered(work, renderer, OVERLAY):
        done = facts[OVERLAY]
        assert done.error is not None, done.objects
        assert done.refused, done.error
        assert case.says in done.error
        assert (done.file, done.line) == (case.file, case.line)
        where = f"{case.file}:{case.line}: " if case.line else f"{case.file}: "
        assert done.error.startswith(where), done.error
        assert "\n" not in done.error
        seen = f"{done.error} {done.objects}"
        assert OUTSIDE not in seen
        assert LEAKED not in seen
        assert "gitops-promote-" not in done.error  # no temporary path
    assert wire.requests == []


def containers(objects: tuple[object, ...]) -> str:
    return str(objects)


def test_symlinks_inside_the_repository_render_as_their_targets(
    tmp_path: Path, renderer: render.Renderer, wire: Tripwire
) -> None:
    """Symlinks that stay inside the repository are followed, as Argo CD follows them: a
    kustomization.yaml that is a symlink, a base directory reached through a symlink, a
    generator file that is a symlink (through a chain of two): each renders exactly as the
    files it points to do, from a tree that holds copies and no links."""
    case = Case("inside", None, "", None)
    work, _ = world(tmp_path, case, wire)
    gitutil.write_files(
        work,
        {
            "shared/production.yaml": HEAD.replace("../../base", "../../base-link")
            + "configMapGenerator:\n  - name: cfg\n    files:\n      - settings.txt\n"
            + f"images:\n  - name: ghcr.io/o/api\n    digest: {DIGEST}\n",
            "config/settings.txt": "colour=blue\n",
            KFILE: None,
        },
    )
    (work / KFILE).symlink_to("../../../../shared/production.yaml")
    (work / "apps/api/base-link").symlink_to("base")
    (work / OVERLAY / "settings.txt").symlink_to("../../../../config/settings-link.txt")
    (work / "config/settings-link.txt").symlink_to("settings.txt")
    gitutil.commit_files(work, {}, message="links inside")
    for facts in rendered(work, renderer, OVERLAY):
        done = facts[OVERLAY]
        assert done.error is None, done.error
        kinds = {o["kind"]: o for o in done.objects}
        image = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image == f"ghcr.io/o/api@{DIGEST}"
        assert kinds["ConfigMap"]["data"] == {"settings.txt": "colour=blue\n"}
    assert wire.requests == []


def test_the_tree_on_disk_holds_copies_not_links(tmp_path: Path, wire: Tripwire) -> None:
    """materialise writes a symlink that stays inside as a copy of its target (a file, or a
    directory's files) and does not write one that leaves: the temporary tree has no
    symlink at all, and it returns why each one left out was refused."""
    case = Case("tree", None, "", None)
    work, fill = world(tmp_path, case, wire)
    (work / "apps/api/base-link").symlink_to("base")
    (work / "apps/api/base/copy.yaml").symlink_to("deployment.yaml")
    (work / "apps/api/out-abs").symlink_to(f"{fill['world']}/secret")
    (work / OVERLAY / "out-rel").symlink_to(f"{UP}/secret")
    (work / "apps/api/dangling").symlink_to("nowhere")
    gitutil.commit_files(work, {}, message="links")
    repo = Repo(Git(cwd=work), work, base_branch="main")
    entries = merged.ls_tree(repo, "HEAD")
    dest = tmp_path / "out"
    refused = merged.materialise(repo, entries, dest)
    assert (dest / "apps/api/base-link/deployment.yaml").read_text() == DEPLOYMENT
    assert (dest / "apps/api/base/copy.yaml").read_text() == DEPLOYMENT
    assert not [p for p in dest.rglob("*") if p.is_symlink()]
    assert sorted(refused) == ["apps/api/dangling", "apps/api/out-abs", f"{OVERLAY}/out-rel"]
    assert refused["apps/api/out-abs"].startswith(f"is a symlink to '{fill['world']}/secret'")
    assert "absolute path, outside the repository" in refused["apps/api/out-abs"]
    assert "leaves the repository" in refused[f"{OVERLAY}/out-rel"]
    assert "not in the repository" in refused["apps/api/dangling"]
    assert not (dest / "apps/api/out-abs").exists()


def test_a_symlink_on_disk_is_checked_where_it_leads(
    tmp_path: Path, renderer: render.Renderer, wire: Tripwire
) -> None:
    """render.render on a working tree (real symlinks on disk) refuses an entry that leads
    out of the tree through a symlink, with its line, and renders nothing from there."""
    case = Case("disk", gen("files", "secret.txt"), "", None)
    work, fill = world(tmp_path, case, wire)
    (work / OVERLAY / "secret.txt").symlink_to(f"{fill['world']}/secret")
    done = render.render(renderer, work, OVERLAY)
    assert done.refused
    assert done.error is not None
    assert done.error.startswith(f"{KFILE}:6: configMapGenerator files entry 'secret.txt' ")
    assert "through a symlink" in done.error
    assert OUTSIDE not in str(done.objects)


@pytest.mark.parametrize(
    ("kustomization", "line", "says"),
    [
        ("configMapGenerator:\n  - name: c\n    files: [../../secret]\n", 3, "files entry"),
        ("resources:\n  - ../../outside\n", 2, "resources entry"),
        ("resources:\n  - ../../outside-plain\n", 2, "resources entry"),
    ],
)
def test_dot_dot_from_a_shallow_overlay_is_refused(
    tmp_path: Path, renderer: render.Renderer, kustomization: str, line: int, says: str
) -> None:
    """``../../secret`` and ``../../outside`` (with and without a kustomization) from an
    overlay one level below the repository root leave it: refused on their line, and the
    file or directory beside the repository is never read."""
    top = tmp_path / "world"
    manifest = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: o}}\ndata: {{x: {OUTSIDE}}}\n"
    gitutil.write_files(
        top,
        {
            "secret": f"password={OUTSIDE}\n",
            "outside/kustomization.yaml": "resources: [cm.yaml]\n",
            "outside/cm.yaml": manifest,
            "outside-plain/cm.yaml": manifest,
            "repo/prod/kustomization.yaml": kustomization,
        },
    )
    # the repository's root is world/repo: ../../ from prod is world/
    done = render.render(renderer, top / "repo", "prod")
    assert done.refused, done.error
    assert done.error is not None
    assert done.error.startswith(f"prod/kustomization.yaml:{line}: ")
    assert says in done.error
    assert LEAVES in done.error
    assert OUTSIDE not in f"{done.error} {done.objects}"


def test_kustomize_has_no_way_out_even_past_the_walk(
    tmp_path: Path, renderer: render.Renderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defence in depth: with the closure walk bypassed, kustomize still reaches no host
    (its HTTP(S) requests go to a proxy that refuses them) and git may use no transport,
    so a remote resource or base fails to render instead of being fetched."""
    remote_file = "resources:\n  - http://example.invalid/x.yaml\n"
    gitutil.write_files(tmp_path, {"prod/kustomization.yaml": remote_file})
    monkeypatch.setattr(render, "refusal", lambda *_: None)
    done = render.render(renderer, tmp_path, "prod")
    assert done.error is not None
    assert "proxyconnect tcp: dial tcp 127.0.0.1:9" in done.error, done.error
    remote_base = "resources:\n  - https://github.com/a/b//c?ref=v1\n"
    gitutil.write_files(tmp_path, {"prod/kustomization.yaml": remote_base})
    done = render.render(renderer, tmp_path, "prod")
    assert done.error is not None
    assert "transport 'https' not allowed" in done.error, done.error


def test_a_missing_entry_is_a_broken_overlay_not_a_fetch(
    tmp_path: Path, renderer: render.Renderer, wire: Tripwire
) -> None:
    """An entry that names nothing in the repository (kustomize would try it as a remote)
    is not handed to kustomize: the overlay does not render (an error, not a refusal: the
    overlay is broken) and the error names the line."""
    case = Case("missing", HEAD + "  - missing\n", "", None)
    work, _ = world(tmp_path, case, wire)
    for facts in rendered(work, renderer, OVERLAY):
        done = facts[OVERLAY]
        assert not done.refused
        assert done.error == (
            f"{KFILE}:3: resources entry 'missing' is not a file or directory of the "
            "repository (kustomize would try to fetch it from the network); add it to the "
            "repository or fix the path"
        )


# -- end to end: gitops-promote check ---------------------------------------------------------

STAGED = T0 + timedelta(hours=3)
NOW = T0 + timedelta(hours=28)
PROD = overlay("api-service", "production")
DEV = overlay("api-service", "dev")
UP_E2E = "../../../../.."  # from an overlay of the example repo to the directory beside it


@pytest.fixture
def repo(tmp_path: Path) -> ConfigRepo:
    """The example config repo with NEW_API promoted dev -> staging, beside an ``outside``
    directory (a kustomization and a secret file) that no check may read."""
    kustomize_argv()
    gitutil.write_files(
        tmp_path,
        {
            "outside/kustomization.yaml": "resources: [cm.yaml]\n",
            "outside/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: outside}\n"
            f"data: {{x: {OUTSIDE}}}\n",
            "secret": f"password={OUTSIDE}\n",
        },
    )
    config = ConfigRepo(tmp_path / "config")
    config.promote("api-service", "dev", f"{API}@{NEW_API}", at=T0 + timedelta(hours=1))
    config.promote("api-service", "staging", f"{API}@{NEW_API}", at=STAGED)
    return config


def edit(repo: ConfigRepo, rel: str, old: str, new: str) -> int:
    """Commit on branch ``pr`` the overlay ``rel`` with ``old`` replaced by ``new``; the
    line ``new`` starts on."""
    repo.branch("pr")
    text = repo.text(rel)
    assert old in text
    text = text.replace(old, new)
    repo.commit({rel: text}, at=STAGED, message="hostile edit")
    return text[: text.index(new)].count("\n") + 1


@pytest.mark.parametrize(
    ("name", "entry", "says"),
    [
        ("resources URL", "  - {url}\n", URL),
        ("../ walk to a kustomization", f"  - {UP_E2E}/outside\n", LEAVES),
        ("absolute path", "  - {outside}\n", ABSOLUTE),
    ],
)
def test_check_fails_a_production_overlay_that_reaches_outside(
    repo: ConfigRepo, wire: Tripwire, name: str, entry: str, says: str
) -> None:
    """A production PR whose overlay names a URL, a directory beside the repository or an
    absolute path fails the check with a blocking render gate on that line; the HTTP server
    sees no request and nothing from outside is printed."""
    outside = repo.root.parent / "outside"
    line = (
        edit(
            repo,
            PROD,
            "  - ../../base\n",
            "  - ../../base\n" + entry.format(url=wire.url("prod.yaml"), outside=outside),
        )
        + 1
    )
    data = repo.check_json(now=NOW, code=1)
    assert failed(data) == [("render", "api-service", "production")]
    gate = result(data, "render", "api-service", "production")
    assert (gate["file"], gate["line"]) == (PROD, line)
    assert says in gate["message"]
    assert "fails closed" in gate["message"]
    run = repo.check(now=NOW, code=1)
    assert "FAIL     render        production is not rendered, so drift" in run.stdout
    for output in (run.output, str(data)):
        assert OUTSIDE not in output
        assert LEAKED not in output
    assert wire.requests == []


def test_check_fails_a_generator_file_outside_the_repository(
    repo: ConfigRepo, wire: Tripwire
) -> None:
    """Generator files naming /etc/passwd, a ``../`` walk to a secret beside the repository
    and a URL each fail production's check on their own line; none of them is read."""
    block = (
        "configMapGenerator:\n  - name: leak\n    files:\n      - /etc/passwd\n"
        f"      - {UP_E2E}/secret\n      - {wire.url('file.txt')}\n"
    )
    line = edit(repo, PROD, "replicas:\n", block + "replicas:\n")
    data = repo.check_json(now=NOW, code=1)
    gate = result(data, "render", "api-service", "production")
    assert (gate["file"], gate["line"]) == (PROD, line + 3)
    assert "configMapGenerator files entry '/etc/passwd' is an absolute path" in gate["message"]
    assert "root:" not in str(data)
    assert OUTSIDE not in str(data)
    assert wire.requests == []


def test_an_inert_helm_key_fails_closed_unless_render_warn(repo: ConfigRepo) -> None:
    """``helmGlobals:`` added to production next to a patch that removes its resource
    limits no longer switches drift, references and limits off: the render gate fails on
    the key's line. With ``render: warn`` on production in promotion.yaml it warns."""
    text = repo.text("promotion.yaml").replace(
        "    require-digest: true", "    require-digest: true\n    require-limits: true"
    )
    repo.commit({"promotion.yaml": text}, at=T0, message="limits")
    block = (
        "helmGlobals:\n  chartHome: charts\npatches:\n  - target: {kind: Deployment}\n"
        "    patch: |-\n      - op: remove\n"
        "        path: /spec/template/spec/containers/0/resources\n"
    )
    line = edit(repo, PROD, "replicas:\n", block + "replicas:\n")
    data = repo.check_json(now=NOW, code=1)
    assert failed(data) == [("render", "api-service", "production")]
    gate = result(data, "render", "api-service", "production")
    assert (gate["file"], gate["line"]) == (PROD, line)
    assert "uses helmGlobals:" in gate["message"]

    repo.switch("main")
    warned = text.replace("    require-limits: true", "    require-limits: true\n    render: warn")
    repo.commit({"promotion.yaml": warned}, at=T0 + timedelta(minutes=1), message="warn")
    gitutil.git("rebase", "-q", "main", "pr", cwd=repo.root)
    data = repo.check_json(now=NOW, code=0)
    gate = result(data, "render", "api-service", "production")
    assert gate["severity"] == "warning"
    assert "uses helmGlobals:" in gate["message"]
    assert "fails closed" not in gate["message"]


def test_a_push_env_keeps_warnings_and_still_fetches_nothing(
    repo: ConfigRepo, wire: Tripwire
) -> None:
    """dev (mode: push) with a URL in its overlay: the render refusal is a warning, the
    check passes, and the URL is still never fetched."""
    line = 1 + edit(repo, DEV, "  - ../../base\n", f"  - ../../base\n  - {wire.url('dev.yaml')}\n")
    data = repo.check_json(now=NOW, code=0)
    gate = result(data, "render", "api-service", "dev")
    assert gate["severity"] == "warning"
    assert (gate["file"], gate["line"]) == (DEV, line)
    assert URL in gate["message"]
    assert LEAKED not in str(data)
    assert wire.requests == []


def test_render_key_is_validated(tmp_path: Path) -> None:
    """``render:`` accepts fail and warn; anything else is a config problem on its line."""
    repo = ConfigRepo(tmp_path / "config")
    text = repo.text("promotion.yaml").replace(
        "    require-digest: true", "    require-digest: true\n    render: skip"
    )
    repo.commit({"promotion.yaml": text}, at=T0, message="bad")
    from support.inprocess import cli

    run = cli("validate", "--repo", str(repo.root), check=2)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if t.startswith("    render: skip"))
    assert re.search(
        rf"promotion.yaml:{line}:.*render 'skip' is not valid.*use one of: (fail, warn|warn, fail)",
        run.stderr,
    ), run.stderr


# -- the verdict on what cannot be rendered (pure) ----------------------------------------------


def judged(render_mode: Severity | None) -> CheckResult:
    """A hand edit of production (drift severity fail) whose own overlay renders while its
    upstream, staging, is refused for a URL on a given line."""
    production = Environment(
        name="production",
        path="apps/{app}/production",
        upstream="staging",
        mode="pull-request",
        drift=DriftOptions(severity="fail"),
        **({"render": render_mode} if render_mode else {}),  # type: ignore[arg-type]
    )
    config = Config(
        (
            Environment(name="staging", path="apps/{app}/staging", mode="pull-request"),
            production,
        ),
        (App(name="api", image="ghcr.io/o/api"),),
    )
    file = "apps/api/production/kustomization.yaml"
    deployment = {"kind": "Deployment", "metadata": {"name": "api"}}
    return evaluate(
        Facts(
            config=config,
            changes=ChangeSet((file,), (), (Edit("api", "production", file, 3, "overlay"),), ()),
            now=T0,
            overlays={
                ("api", "production"): "apps/api/production",
                ("api", "staging"): "apps/api/staging",
            },
            renders={
                "apps/api/production": RenderFact("apps/api/production", (deployment,)),
                "apps/api/staging": RenderFact(
                    "apps/api/staging",
                    error="apps/api/staging/kustomization.yaml:4: resources entry is a URL",
                    refused=True,
                    file="apps/api/staging/kustomization.yaml",
                    line=4,
                ),
            },
        )
    )


def test_drift_that_cannot_be_judged_fails_where_drift_fails() -> None:
    """When the upstream cannot be rendered, drift is not skipped quietly: in an env whose
    drift severity is fail it is a blocking result naming the upstream's file and line
    (a warning only with ``render: warn``)."""
    drift = next(r for r in judged(None).results if r.gate == "drift")
    assert drift.blocking
    assert (drift.file, drift.line) == ("apps/api/staging/kustomization.yaml", 4)
    assert "staging cannot be rendered, so drift is not checked" in drift.message
    warned = judged("warn")
    assert warned.passed
    assert sorted(r.gate for r in warned.warnings) == ["drift", "overlay"]
