"""Bad input, hand-picked, through real child processes: each is refused with exit 2 and
one clear ``error:`` line (a config file: one line per problem) naming the input, with
no traceback, and nothing is written (the checkout, its .git, and the remote's refs are
byte-identical afterwards)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from reliability import children
from reliability.conftest import Figure
from reliability.corpus import (
    GOOD_DIGEST,
    OVERLAY,
    Outcome,
    assert_refused,
    changed,
    make_repo,
    promote_argv,
    put,
    settle,
    snapshot,
)
from reliability.fleet import Fleet, kustomization, promotion_yaml
from support import gitutil

GOOD = kustomization("app-00", "dev", GOOD_DIGEST.replace("ab", "cd"))
CONFIG = promotion_yaml(("app-00", "app-01", "app-02"))
BOMB = (
    'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
)
Setup = Callable[[Path, Path], None]  # (repo, a directory outside it)
Argv = Callable[[Path, Path], list[str]]


@dataclass(frozen=True)
class Hand:
    """One hand-picked bad input: what to set up, what to run, what the refusal names."""

    category: str
    name: str
    argv: Argv
    mentions: tuple[str, ...]
    files: dict[str, gitutil.FileContent] = field(default_factory=dict)
    setup: Setup | None = None
    lines: int = 1


def promote(*extra: str, app: str = "app-00", env: str = "dev") -> Argv:
    return lambda repo, _out: promote_argv(repo, *extra, app=app, env=env)


def validate(*extra: str) -> Argv:
    return lambda repo, _out: ["validate", f"--repo={repo}", *extra]


def set_image(*args: str, path: str = OVERLAY) -> Argv:
    return lambda repo, _out: ["set-image", str(repo / path), *args]


def config_with(old: str, new: str) -> dict[str, gitutil.FileContent]:
    assert old in CONFIG, old
    return {"promotion.yaml": CONFIG.replace(old, new, 1)}


def symlink(rel: str, *, to_file: str | None = None) -> Setup:
    """Replace ``rel`` in the repo by a symlink to a copy of it outside the repo."""

    def setup(repo: Path, outside: Path) -> None:
        target = outside / Path(rel).name
        source = repo / rel
        if source.is_dir():
            target.mkdir(parents=True)
            for item in source.iterdir():
                (target / item.name).write_bytes(item.read_bytes())
            for item in source.iterdir():
                item.unlink()
            source.rmdir()
        else:
            target.write_bytes(to_file.encode() if to_file else source.read_bytes())
            source.unlink()
        source.symlink_to(target)
        put(repo, {}, message="symlink out")

    return setup


def outside_config(repo: Path, outside: Path) -> None:
    (outside / "promotion.yaml").write_text(CONFIG)
    (repo.parent / "promotion.yaml").write_text(CONFIG)


D = GOOD_DIGEST
CASES: list[Hand] = [
    # image references
    Hand("image", "uppercase-name", promote("--image=GHCR.io/Fleet/App-00:1.0"), ("--image",)),
    Hand("image", "empty-tag", promote("--image=ghcr.io/fleet/app-00:"), ("--image",)),
    Hand("image", "short-digest", promote("--image=ghcr.io/fleet/app-00@sha256:123"), ("sha256",)),
    Hand("image", "another-apps-image", promote(f"--image=ghcr.io/other/app:1.0@{D}"), ("app-00",)),
    Hand("image", "space-in-ref", promote("--image=ghcr.io/fleet/app 00:1.0"), ("--image",)),
    Hand("image", "set-image-garbage", set_image("bad image"), ("bad image",)),
    Hand("image", "set-image-no-name", set_image(f"ghcr.io/fleet/app-00=@{D}"), ("image",)),
    Hand("image", "set-image-half-equals", set_image("=x"), ("=x",)),
    # digests
    Hand("digest", "too-short", promote("--digest=sha256:abc"), ("--digest",)),
    Hand("digest", "uppercase", promote("--digest=sha256:" + "AB" * 32), ("--digest",)),
    Hand("digest", "unknown-algorithm", promote("--digest=md5:" + "a" * 32), ("md5",)),
    Hand("digest", "tag-not-digest", promote("--digest=sha256-" + "a" * 64), ("--tag",)),
    Hand("digest", "not-hex", promote("--digest=sha256:" + "g" * 64), ("--digest",)),
    # names, times, identities
    Hand("name", "unknown-env", promote(env="prod"), ("'prod'", "dev, staging, production")),
    Hand("name", "empty-env", promote(env=""), ("environment",)),
    Hand("name", "app-path-traversal", promote(app="../../etc/passwd"), ("../../etc/passwd",)),
    Hand("name", "one-unknown-app", promote(app="app-00,nope"), ("'nope'",)),
    Hand("name", "no-app", promote(app=""), ("--app",)),
    Hand(
        "name",
        "status-unknown-env",
        lambda r, _o: ["status", f"--repo={r}", "--env=nope"],
        ("'nope'",),
    ),
    Hand("name", "bad-now", promote("--now=yesterday"), ("--now",)),
    Hand("name", "bad-author", promote("--author=no email"), ("--author",)),
    Hand("name", "base-branch-traversal", promote("--base-branch=../main"), ("../main",)),
    Hand("name", "message-unknown-placeholder", promote("--message={nope}"), ("--message",)),
    Hand("name", "unknown-flag", promote("--frobnicate"), ("--frobnicate",)),
    Hand(
        "name", "flag-without-value", lambda r, _o: ["promote", f"--repo={r}", "--env"], ("--env",)
    ),
    # promotion.yaml
    Hand(
        "config",
        "unknown-key",
        validate(),
        ("frobnicate",),
        config_with("version: 1", "version: 1\nfrobnicate: 1"),
    ),
    Hand(
        "config",
        "env-cycle",
        promote(),
        ("cycle",),
        config_with("    from: dev", "    from: production"),
    ),
    Hand(
        "config",
        "bad-cron",
        promote(),
        ("61 16",),
        config_with('"0 16 * * FRI"', '"61 16 * * FRI"'),
    ),
    Hand(
        "config",
        "bad-timezone",
        promote(),
        ("Mars/Olympus",),
        config_with("Europe/Berlin", "Mars/Olympus"),
    ),
    Hand(
        "config",
        "wrong-types",
        validate(),
        ("version", "soak"),
        {
            "promotion.yaml": CONFIG.replace("version: 1", "version: one").replace(
                "soak: 1h", "soak: [1h]"
            )
        },
        lines=2,
    ),
    Hand(
        "config",
        "duplicate-key",
        promote(),
        ("twice",),
        {"promotion.yaml": CONFIG + "version: 1\n"},
    ),
    Hand("config", "alias-bomb", validate(), ("alias",), {"promotion.yaml": BOMB + CONFIG}),
    Hand("config", "utf-16", promote(), ("UTF-16",), {"promotion.yaml": CONFIG.encode("utf-16")}),
    Hand("config", "too-big", validate(), ("MiB",), {"promotion.yaml": CONFIG + "#" * (6 << 20)}),
    Hand("config", "missing", promote("--config=nope.yaml"), ("nope.yaml",)),
    # overlays
    Hand(
        "overlay",
        "broken-yaml",
        promote(),
        ("kustomization.yaml:2",),
        {OVERLAY: "images: [\n  - name: x\n"},
    ),
    Hand("overlay", "alias-bomb", promote(), ("alias",), {OVERLAY: BOMB + GOOD}),
    Hand("overlay", "50-mib", promote(), ("MiB",), {OVERLAY: GOOD + "#" * (50 << 20) + "\n"}),
    Hand(
        "overlay",
        "binary",
        set_image(f"ghcr.io/fleet/app-00@{D}"),
        ("binary",),
        {OVERLAY: bytes(range(256))},
    ),
    Hand("overlay", "utf-16", promote(), ("UTF-16",), {OVERLAY: GOOD.encode("utf-16")}),
    Hand(
        "overlay",
        "latin-1",
        promote(),
        ("UTF-8",),
        {OVERLAY: (GOOD + "# caf\xe9\n").encode("latin-1")},
    ),
    Hand("overlay", "not-a-mapping", promote(), ("mapping",), {OVERLAY: "- a\n- b\n"}),
    Hand("overlay", "missing", promote(), ("kustomization.yaml",), {OVERLAY: None}),
    # paths
    Hand(
        "path",
        "config-dotdot",
        promote("--config=../promotion.yaml"),
        ("--config",),
        setup=outside_config,
    ),
    Hand(
        "path",
        "config-absolute",
        lambda r, o: promote_argv(r, f"--config={o / 'promotion.yaml'}"),
        ("--config",),
        setup=outside_config,
    ),
    Hand(
        "path",
        "config-symlink-out",
        promote(),
        ("promotion.yaml",),
        setup=symlink("promotion.yaml"),
    ),
    Hand(
        "path",
        "overlay-dir-symlink-out",
        promote(),
        ("symlink",),
        setup=symlink("apps/app-00/overlays/dev"),
    ),
    Hand("path", "overlay-file-symlink-out", promote(), ("symlink",), setup=symlink(OVERLAY)),
    Hand(
        "path",
        "template-dotdot",
        validate(),
        ("'..'",),
        config_with("path: apps/{app}/overlays/dev", "path: ../out/{app}"),
    ),
    Hand(
        "path",
        "template-absolute",
        validate(),
        ("absolute",),
        config_with("path: apps/{app}/overlays/dev", "path: /etc/{app}"),
    ),
    Hand("path", "no-such-repo", lambda _r, o: ["status", f"--repo={o / 'nope'}"], ("nope",)),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.category}-{c.name}" for c in CASES])
def test_hand_picked_bad_input_is_refused_in_one_line(
    case: Hand, tmp_path: Path, figure: Figure
) -> None:
    """The case's input is refused: exit 2, one error line (per problem) naming it, no
    traceback, the checkout and its .git byte-identical."""
    outside = tmp_path / "outside"
    outside.mkdir()
    repo = make_repo(tmp_path / "repo", case.files)
    if case.setup is not None:
        case.setup(repo, outside)
        settle(repo)
    before = snapshot(repo)
    run = children.run(*case.argv(repo, outside), cwd=tmp_path / "cwd", check=None)
    assert_refused(
        Outcome(run.returncode, run.stdout, run.stderr), lines=case.lines, mentions=case.mentions
    )
    assert not changed(before, snapshot(repo)), f"written: {changed(before, snapshot(repo))}"
    figure(f"corpus.hand.{case.category}.{case.name}", 1)


REMOTE_CASES = [
    (
        "remote-url-with-credentials",
        ["--remote=http://user:s3cr3t-h10@127.0.0.1:9/x.git"],
        ("credentials",),
    ),
    ("remote-url-option-injection", ["--remote=-uhttp://x"], ("'-'",)),
    ("config-repo-traversal", ["--config-repo=../evil"], ("owner/name",)),
    ("token-env-unset", ["--token-env=GITOPS_H10_UNSET"], ("GITOPS_H10_UNSET",)),
    ("gated-env-with-no-push", ["--no-push", "--env=production"], ("pull request",)),
    (
        "api-timeout-not-a-number",
        ["--env=production", "--defer-gates"],
        ("GITOPS_PROMOTE_API_TIMEOUT",),
    ),
]


@pytest.mark.parametrize(
    ("name", "extra", "mentions"), REMOTE_CASES, ids=[c[0] for c in REMOTE_CASES]
)
def test_bad_remote_input_is_refused_and_the_remote_is_untouched(
    fleet: Fleet,
    tmp_path: Path,
    figure: Figure,
    name: str,
    extra: list[str],
    mentions: tuple[str, ...],
) -> None:
    """Bad locations and credentials for a remote config repo: refused in one line, the
    remote's refs unchanged, no PR, and no secret from the URL echoed."""
    refs = gitutil.git("for-each-ref", cwd=fleet.bare)
    where = (
        []
        if any(e.startswith(("--remote", "--config-repo")) for e in extra)
        else [f"--config-repo={fleet.repo}"]
    )
    env_flag = [] if any(e.startswith("--env") for e in extra) else ["--env=dev"]
    argv = [
        "promote",
        *where,
        "--app=app-00",
        *env_flag,
        f"--digest={GOOD_DIGEST}",
        "--skip-registry-check",
        "--now=2026-11-25T10:00:00+00:00",
        *extra,
    ]
    run = children.run(
        *argv,
        cwd=tmp_path / "cwd",
        env={**fleet.env, "GITOPS_PROMOTE_API_TIMEOUT": "soon"},
        check=None,
    )
    assert_refused(Outcome(run.returncode, run.stdout, run.stderr), mentions=mentions)
    assert "s3cr3t-h10" not in run.output
    assert fleet.token not in run.output
    assert gitutil.git("for-each-ref", cwd=fleet.bare) == refs
    assert fleet.api is not None
    assert fleet.api.pulls(state="all") == []
    figure(f"corpus.hand.remote.{name}", 1)
