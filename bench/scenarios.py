"""The five measurements (P1-P5) of issue 7, each against its baseline in the same run.

Every command runs as a user runs it: a child process (``gitops-promote ...``, ``git``,
``kubectl``) with a clean environment, against the config repo served over HTTP on
127.0.0.1 by the test suite's git server (``git http-backend`` behind token auth) and the
GitHub API fake. Repetitions alternate the order of the compared commands, so a burst of
load on the machine hits both sides alike.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench import gittrace
from bench.gen import CachedRepo
from bench.metrics import FLOOR_PASS, STATE_FLOOR_PASS
from bench.procs import Timed, child_env, run_timed
from bench.stats import Series
from git import bigrepo
from support import gitutil
from support.githttp import GitServer
from support.github_fake import GitHubFake

NOW = "2026-06-01T12:00:00+00:00"  # a Monday noon: no freeze window in the generated config
_DIGEST_LINE = re.compile(rb"digest:\s*(sha256:[0-9a-f]{64})")

# The guide's dev promotion step (lesson "Environment Promotion", "Automating Dev Promotion
# from CI"), command for command. `kustomize edit set image` is used when a kustomize
# binary is on PATH; otherwise the same one-line edit is made with sed (cheaper than
# starting kustomize, so the baseline is if anything faster than the guide's).
GUIDE_SCRIPT = """\
set -euo pipefail
git clone "$CONFIG_REPO_URL" gitops-config
cd gitops-config
cd "apps/$APP/overlays/dev"
if [ "$EDIT_WITH" = kustomize ]; then
  kustomize edit set image "ghcr.io/myorg/$APP@${IMAGE_DIGEST}"
else
  sed -i "s|digest: sha256:[0-9a-f]*|digest: ${IMAGE_DIGEST}|" kustomization.yaml
fi
git config user.email "ci-bot@myorg.com"
git config user.name "CI Bot"
git add kustomization.yaml
git commit -m "chore(dev): promote $APP to ${IMAGE_DIGEST::19}"
git push
"""


# The least plain git needs for the same promotion (issue 16's floor): a depth-1,
# blob-less, sparse clone of the one overlay's directory, the one-line edit, one commit, one
# push. Nothing gitops-promote does (config, gates, history, guards) is in it: our time over
# this is what the tool costs on top of git itself.
FLOOR_SCRIPT = """\
set -euo pipefail
git clone --quiet --depth 1 --filter=blob:none --sparse "$CONFIG_REPO_URL" floor
cd floor
overlay="apps/$APP/overlays/dev"
git sparse-checkout set "$overlay"
sed -i "s|digest: sha256:[0-9a-f]*|digest: ${IMAGE_DIGEST}|" "$overlay/kustomization.yaml"
git -c user.email=ci-bot@myorg.com -c user.name="CI Bot" commit --quiet -am "promote $APP"
git push --quiet origin HEAD
"""


@dataclass
class Bench:
    """Everything a measurement needs: servers, repos, settings, a logger."""

    quick: bool
    reps: int
    timeout: float
    run_dir: Path
    git: GitServer
    api: GitHubFake
    big: CachedRepo
    small: CachedRepo
    log: Callable[[str], None]
    edit_with: str  # "kustomize" or "sed" (the guide flow's edit)
    kubectl: str | None
    _serial: int = 0

    BIG = "org/config"
    SMALL = "org/small"
    # the same repos plus one commit that turns the state file on (bench.gen.with_state_file)
    BIG_STATE = "org/config-state"
    SMALL_STATE = "org/small-state"

    @property
    def home(self) -> Path:
        return self.run_dir / "home"

    @property
    def promote_bin(self) -> str:
        exe = Path(sys.executable).with_name("gitops-promote")
        return str(exe) if exe.exists() else "gitops-promote"

    def digest(self) -> str:
        self._serial += 1
        return "sha256:" + hashlib.sha256(f"bench-{self._serial}".encode()).hexdigest()

    def workdir(self, name: str) -> Path:
        path = self.run_dir / "work" / name
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        return path

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return child_env(self.home, {"GITOPS_PROMOTE_TOKEN": self.git.token, **(extra or {})})

    def platform_env(self) -> dict[str, str]:
        """What a workflow step has: token, API URL, server URL."""
        return self.env(
            {"GITHUB_API_URL": self.api.api_url, "GITHUB_SERVER_URL": self.git.base_url}
        )

    def cli(
        self,
        *args: str,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
        own_peak: bool = False,
    ) -> Timed:
        return run_timed(
            [self.promote_bin, *args],
            cwd=cwd or self.run_dir,
            env=env or self.env(),
            timeout=timeout or self.timeout,
            own_peak=own_peak,
        )

    def traced(
        self,
        args: Sequence[str],
        name: str,
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float | None = None,
        own_peak: bool = False,
    ) -> tuple[Timed, gittrace.Breakdown | None]:
        """Run ``gitops-promote args`` with GIT_TRACE_PERFORMANCE (a file write per git
        process: no measurable cost) and say where its time went (None when it failed)."""
        path = self.run_dir / "trace" / f"{name}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        run = self.cli(
            *args,
            cwd=cwd,
            env={**(env or self.env()), "GIT_TRACE_PERFORMANCE": str(path)},
            timeout=timeout,
            own_peak=own_peak,
        )
        if run.timed_out or run.returncode not in (0, 1):
            return run, None
        return run, gittrace.breakdown(gittrace.parse(path), run.wall)

    def pinned(self, name: str, app: str, env: str, ref: str = "main") -> str:
        """The digest ``app`` pins in ``env`` on ``ref`` of the served repo ``name``."""
        raw = gitutil.read_file(
            self.git.path(name), ref, f"apps/{app}/overlays/{env}/kustomization.yaml"
        )
        match = _DIGEST_LINE.search(raw)
        return match.group(1).decode() if match else ""


SLOW_S = 60.0  # a command slower than this gets 3 repetitions, not --reps
SLOW_REPS = 3


def wants_more(series: Series) -> bool:
    """Whether to run ``series`` again: not after a failure, and at most three times when
    it is very slow (the verdict is clear and the run must end today)."""
    if series.failure is not None:
        return False
    return not (len(series.walls) >= SLOW_REPS and min(series.walls) > SLOW_S)


def typical(
    kept: gittrace.Breakdown | None, new: gittrace.Breakdown | None, series: Series
) -> gittrace.Breakdown | None:
    """Of two traces of the same command, the one whose wall time is nearer the median so
    far: the 'where the time goes' table shows a typical run, not an outlier."""
    if new is None:
        return kept
    median = series.median
    if kept is None or median is None:
        return new
    return new if abs(new.wall - median) < abs(kept.wall - median) else kept


def _pick(apps: Sequence[str], i: int) -> str:
    return apps[(i * 7919 + 13) % len(apps)]


def _json(run: Timed) -> dict[str, Any]:
    try:
        data = json.loads(run.stdout)
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


# -- P1: a dev promotion end to end -----------------------------------------------------------


@dataclass
class P1:
    ours: Series
    guide: Series
    floor: Series = field(default_factory=lambda: Series("", failure="not run (--only)"))
    requests_ours: int | None = None
    requests_guide: int | None = None
    requests_floor: int | None = None
    trace: gittrace.Breakdown | None = None


def p1_dev_promotion(b: Bench) -> P1:
    url = b.git.url(b.BIG)
    token_url = url.replace("http://", f"http://x-token:{b.git.token}@", 1)
    ours = Series("gitops-promote promote --env dev")
    guide = Series(f"guide: git clone, {b.edit_with} edit, commit, push")
    floor = Series("floor: git clone --depth 1 --filter=blob:none --sparse, sed, commit, push")
    result = P1(ours, guide, floor)
    traces: list[gittrace.Breakdown | None] = [None]

    def run_ours(app: str, digest: str) -> Timed:
        args = ["promote", "--remote", url, "--app", app, "--env", "dev", "--digest", digest]
        run, tr = b.traced([*args, "--skip-registry-check"], "p1", cwd=b.workdir("p1-ours"))
        traces[0] = tr
        return run

    def script_env(app: str, digest: str) -> dict[str, str]:
        return b.env(
            {
                "CONFIG_REPO_URL": token_url,
                "CONFIG_REPO_TOKEN": b.git.token,
                "IMAGE_DIGEST": digest,
                "APP": app,
                "EDIT_WITH": b.edit_with,
            }
        )

    def run_guide(app: str, digest: str) -> Timed:
        return run_timed(
            ["bash", "-c", GUIDE_SCRIPT],
            cwd=b.workdir("p1-guide"),
            env=script_env(app, digest),
            timeout=b.timeout,
        )

    def run_floor(app: str, digest: str) -> Timed:
        return run_timed(
            ["bash", "-c", FLOOR_SCRIPT],
            cwd=b.workdir("p1-floor"),
            env=script_env(app, digest),
            timeout=b.timeout,
        )

    for i in range(b.reps):
        sides: list[tuple[Series, Callable[[str, str], Timed]]] = [
            (ours, run_ours),
            (guide, run_guide),
            (floor, run_floor),
        ]
        # rotate the order: each side goes first, second and last in turn
        sides = sides[i % 3 :] + sides[: i % 3]
        for series, runner in sides:
            if not wants_more(series):
                continue
            side = 0 if series is ours else 1 if series is guide else 2
            app, digest = _pick(b.big.apps, i * 3 + side), b.digest()
            before = len(b.git.requests)
            run = runner(app, digest)
            if series.add(run):
                if b.pinned(b.BIG, app, "dev") != digest:
                    series.failure = f"the push did not land ({app} in dev is not {digest[:19]})"
                elif series is ours:
                    result.trace = typical(result.trace, traces[0], ours)
            requests = len(b.git.requests) - before
            if series is ours:
                result.requests_ours = requests
            elif series is guide:
                result.requests_guide = requests
            else:
                result.requests_floor = requests
            b.log(
                f"  P1 {series.name}: {run.wall:.2f} s"
                + ("" if run.ok else f" ({run.describe_failure()})")
            )
    return result


# -- P2: check on a pull request touching one overlay ----------------------------------------


@dataclass
class P2:
    small: Series
    big: Series
    small_state: Series  # the same repos with the state file on
    big_state: Series
    verdicts: dict[str, str] = field(default_factory=dict)
    trace_big: gittrace.Breakdown | None = None
    trace_big_state: gittrace.Breakdown | None = None


def make_pull_request_branch(b: Bench, name: str, app: str) -> str:
    """A branch promoting ``app``'s dev digest into staging: one overlay, one line."""
    bare = b.git.path(name)
    branch = f"promote/staging/{app}"
    gitutil.git("update-ref", f"refs/heads/{branch}", "refs/heads/main", cwd=bare)
    digest = b.pinned(name, app, "dev")
    gitutil.commit_tree_to_bare(
        bare,
        {f"apps/{app}/overlays/staging/kustomization.yaml": bigrepo.kustomization(app, digest)},
        branch=branch,
        message=f"chore(staging): promote {app} to {digest[:19]}",
        date=NOW.replace("12:00", "10:00"),
    )
    return branch


def p2_check(b: Bench) -> P2:
    small = Series(f"check, {len(b.small.apps)} apps / {b.small.commits} commits")
    big = Series(f"check, {len(b.big.apps)} apps / {b.big.commits} commits")
    small_state = Series(f"check, {len(b.small.apps)} apps, state file on")
    big_state = Series(f"check, {len(b.big.apps)} apps, state file on")
    result = P2(small, big, small_state, big_state)
    heads = {
        name: make_pull_request_branch(b, name, _pick(apps, 1005))
        for name, apps in (
            (b.SMALL, b.small.apps),
            (b.BIG, b.big.apps),
            (b.SMALL_STATE, b.small.apps),
            (b.BIG_STATE, b.big.apps),
        )
    }

    def args(name: str) -> list[str]:
        return [
            "check",
            "--remote",
            b.git.url(name),
            "--base",
            "main",
            "--head",
            heads[name],
            "--now",
            NOW,
            "--json",
        ]

    for i in range(b.reps):
        sides = [
            (b.SMALL, small),
            (b.BIG, big),
            (b.SMALL_STATE, small_state),
            (b.BIG_STATE, big_state),
        ]
        if i % 2:
            sides.reverse()
        for name, series in sides:
            if not wants_more(series):
                continue
            run, tr = b.traced(args(name), "p2", cwd=b.workdir("p2"))
            if run.returncode == 1 and not run.timed_out:
                run = replace(run, returncode=0)  # a gate said no
            if series.add(run):
                if name == b.BIG:
                    result.trace_big = typical(result.trace_big, tr, series)
                elif name == b.BIG_STATE:
                    result.trace_big_state = typical(result.trace_big_state, tr, series)
                data = _json(run)
                result.verdicts[name] = "passed" if data.get("passed", True) else "failed"
            b.log(
                f"  P2 {series.name}: {run.wall:.2f} s"
                + ("" if run.ok else f" ({run.describe_failure()})")
            )
    return result


# -- P3: status and soak --dry-run across every app ------------------------------------------


# The least plain git needs for status's and soak's facts, from the same served remote
# (issue 16): the transfer they need (a blob-less clone of the branch for its history; a
# depth-1 clone of the tip when the state file answers) and then the floor's pass of
# bench.metrics, one definition for P3 and P6.
P3_FLOOR_SCRIPT = f"""\
set -euo pipefail
git clone --quiet --bare --filter=blob:none --single-branch --no-tags "$CONFIG_REPO_URL" floor.git
cd floor.git
{FLOOR_PASS}
"""
P3_STATE_FLOOR_SCRIPT = f"""\
set -euo pipefail
git clone --quiet --bare --depth 1 --single-branch --no-tags "$CONFIG_REPO_URL" floor.git
cd floor.git
{STATE_FLOOR_PASS}
"""


@dataclass
class P3:
    status: Series
    soak: Series
    status_state: Series  # the same repo with the state file on
    soak_state: Series
    floor: Series = field(default_factory=lambda: Series("", failure="not run (--only)"))
    floor_state: Series = field(default_factory=lambda: Series("", failure="not run (--only)"))
    apps: int = 0
    commits: int = 0
    traces: dict[str, list[gittrace.Breakdown | None]] = field(default_factory=dict)
    rows: dict[str, int | None] = field(default_factory=dict)

    def trace(self, series: Series) -> gittrace.Breakdown | None:
        return self.traces.get(series.name, [None])[0]

    def floor_of(self, series: Series) -> Series:
        """The plain-git floor ``series`` is measured against."""
        stateful = any(series is s for s in (self.status_state, self.soak_state, self.floor_state))
        return self.floor_state if stateful else self.floor

    def measured(self) -> list[Series]:
        return [
            self.status,
            self.soak,
            self.floor,
            self.status_state,
            self.soak_state,
            self.floor_state,
        ]


def p3_fleet(
    b: Bench,
    repo: CachedRepo | None = None,
    names: tuple[str, str] | None = None,
    reps: int | None = None,
    timeout: float | None = None,
) -> P3:
    """status and soak --dry-run over ``repo`` (default the large one) served as
    ``names`` (without, with the state file), each beside its plain-git floor."""
    repo = repo or b.big
    plain, stateful = names or (b.BIG, b.BIG_STATE)
    n = len(repo.apps)
    status = Series(f"status, {n} apps x {len(repo.envs)} envs")
    soak = Series(f"soak --dry-run, {n} apps")
    status_state = Series(f"status, {n} apps x {len(repo.envs)} envs, state file on")
    soak_state = Series(f"soak --dry-run, {n} apps, state file on")
    floor = Series(f"floor: blob-less clone, git log --first-parent --name-only, ls-tree, {n} apps")
    floor_state = Series(f"floor: depth-1 clone, state file + overlays via cat-file, {n} apps")
    result = P3(status, soak, status_state, soak_state, floor, floor_state, n, repo.commits)

    def command(key: str, name: str) -> list[str]:
        url = b.git.url(name)
        if key == "status":
            return ["status", "--remote", url, "--json"]
        return ["soak", "--remote", url, "--dry-run", "--json", "--now", NOW]

    def run_floor(script: str, name: str) -> Timed:
        url = b.git.url(name).replace("http://", f"http://x-token:{b.git.token}@", 1)
        return run_timed(
            ["bash", "-c", script],
            cwd=b.workdir("p3-floor"),
            env=b.env({"CONFIG_REPO_URL": url}),
            timeout=timeout or b.timeout,
        )

    # soak looks up the open promotion PRs: give it the GitHub stand-in, as a workflow would
    envs = {"status": b.env(), "soak": b.platform_env()}
    for i in range(reps or b.reps):
        sides = [
            ("status", plain, status),
            ("floor", plain, floor),
            ("soak", plain, soak),
            ("status", stateful, status_state),
            ("floor", stateful, floor_state),
            ("soak", stateful, soak_state),
        ]
        if i % 2:
            sides.reverse()
        for key, name, series in sides:
            if not wants_more(series):
                continue
            if key == "floor":
                script = P3_STATE_FLOOR_SCRIPT if name == stateful else P3_FLOOR_SCRIPT
                run = run_floor(script, name)
                series.add(run)
            else:
                run, tr = b.traced(
                    command(key, name),
                    "p3",
                    env=envs[key],
                    cwd=b.workdir("p3"),
                    timeout=timeout,
                    own_peak=True,
                )
                if series.add(run):
                    traces = result.traces.setdefault(series.name, [None])
                    traces[0] = typical(traces[0], tr, series)
                    if key == "status":
                        data = json.loads(run.stdout) if run.stdout.strip() else None
                        rows = len(data) if isinstance(data, list) else _rows(data)
                        result.rows[name] = rows
            b.log(
                f"  P3 {series.name}: {run.wall:.2f} s wall, {run.cpu:.2f} s CPU, "
                f"{run.peak_kb / 1024:.0f} MiB peak"
                + (f" (ours {run.own_peak_kb / 1024:.0f} MiB)" if run.own_peak_kb else "")
                + ("" if run.ok else f" ({run.describe_failure()})")
            )
    return result


def _rows(data: object) -> int | None:
    if isinstance(data, dict):
        for value in data.values():
            if isinstance(value, list):
                return len(value)
    return None


# -- P4: GitHub API calls per promotion pull request -----------------------------------------


@dataclass
class P4:
    created: int | None = None
    updated: int | None = None
    unchanged: int | None = None
    operations: dict[str, list[str]] = field(default_factory=dict)
    failure: str | None = None
    validation_errors: int = 0


def p4_api_calls(b: Bench) -> P4:
    """A digest lands in dev (a push: no API call), then is promoted to staging once it has
    soaked (its soak left to the PR's check: ``--defer-gates``, as a request time from the
    future is refused): the PR is opened; a second digest the same way
    updates it; the same again changes nothing. Only the staging runs are counted."""
    result = P4()
    app = _pick(b.small.apps, 2003)
    env = b.platform_env()
    cwd = b.workdir("p4")

    def promote(target: str, digest: str, *extra: str) -> Timed:
        return b.cli(
            "promote",
            "--config-repo",
            b.SMALL,
            "--app",
            app,
            "--env",
            target,
            "--digest",
            digest,
            "--skip-registry-check",
            "--json",
            *extra,
            cwd=cwd,
            env=env,
        )

    def counted(digest: str, expect: str) -> int | None:
        mark = b.api.mark()
        run = promote("staging", digest, "--defer-gates")
        calls = b.api.calls[mark:]
        op = _json(run).get("operation")
        if not run.ok or op != expect:
            result.failure = f"expected {expect}, got {op or run.describe_failure()}"
            return None
        result.operations[expect] = [f"{c.method} {c.operation}" for c in calls]
        b.log(f"  P4 {expect}: {len(calls)} API calls")
        return len(calls)

    def to_dev(digest: str) -> bool:
        run = promote("dev", digest)
        if not run.ok:
            result.failure = f"promoting to dev first failed: {run.describe_failure()}"
        return run.ok

    first, second = b.digest(), b.digest()
    if to_dev(first):
        result.created = counted(first, "pr-created")
    if result.created is not None and to_dev(second):
        result.updated = counted(second, "pr-updated")
    if result.updated is not None:
        result.unchanged = counted(second, "unchanged")
    result.validation_errors = len(b.api.take_validation_errors())
    return result


# -- P5: set-image vs kubectl kustomize (process wall time) ----------------------------------


@dataclass
class P5:
    set_image: Series
    kustomize: Series
    python_floor: Series
    imports: list[tuple[str, float, float]] = field(default_factory=list)  # name, cum, self
    import_total: float = 0.0


def _one_app(root: Path, app: str) -> Path:
    files = {
        f"apps/{app}/base/kustomization.yaml": bigrepo.base_kustomization(),
        f"apps/{app}/base/deployment.yaml": bigrepo.deployment(app),
        f"apps/{app}/overlays/dev/kustomization.yaml": bigrepo.kustomization(
            app, bigrepo.digest_for(app, 0)
        ),
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / f"apps/{app}/overlays/dev"


def parse_importtime(stderr: str) -> tuple[list[tuple[str, float, float]], float]:
    """Top-level imports of ``-X importtime`` output: (module, cumulative s, self s)."""
    top: list[tuple[str, float, float]] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        try:
            self_us, cum_us, name = line.removeprefix("import time:").split("|", 2)
        except ValueError:
            continue
        if name.startswith(" ") and not name.startswith("  "):  # nesting level 0
            top.append((name.strip(), int(cum_us) / 1e6, int(self_us) / 1e6))
    total = sum(cum for _, cum, _ in top)
    return sorted(top, key=lambda t: -t[1]), total


def p5_set_image(b: Bench) -> P5:
    reps = max(5, b.reps * 2)
    app = b.big.apps[0]
    overlay = _one_app(b.workdir("p5"), app)
    cwd = overlay.parents[3]
    result = P5(
        Series("gitops-promote set-image"),
        Series("kubectl kustomize" if b.kubectl else "kubectl kustomize (absent)"),
        Series("python -c pass (interpreter start)"),
    )
    env = b.env()
    for i in range(reps):
        image = f"ghcr.io/myorg/{app}@{b.digest()}"
        sides: list[tuple[Series, list[str]]] = [
            (result.set_image, [b.promote_bin, "set-image", str(overlay), image]),
            (result.python_floor, [sys.executable, "-c", "pass"]),
        ]
        if b.kubectl:
            sides.append((result.kustomize, [b.kubectl, "kustomize", str(overlay)]))
        if i % 2:
            sides.reverse()
        for series, argv in sides:
            if series.failure is None:
                series.add(run_timed(argv, cwd=cwd, env=env, timeout=60))
    if not b.kubectl:
        result.kustomize.failure = "kubectl is not on PATH"
    image = f"ghcr.io/myorg/{app}@{b.digest()}"
    run = run_timed(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "gitops_promote",
            "set-image",
            str(overlay),
            image,
        ],
        cwd=cwd,
        env=env,
        timeout=60,
    )
    result.imports, result.import_total = parse_importtime(run.stderr)
    return result
