"""Run the reliability and security suite and write docs/reliability.md from its results.

    python tests/reliability/report.py                 # run (2 workers), write the doc
    python tests/reliability/report.py --workers 4
    python tests/reliability/report.py --junit FILE    # write the doc from a finished run

The suite records its figures as junit-xml properties (``figure:NAME``, see the ``figure``
fixture in conftest.py); this script reads them back, with each test's outcome, and renders
one Markdown page. zizmor and the pull_request_target rule of tests/test_workflows.py run in
the same pytest session, so the page reports them too. The exit code is pytest's.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"
SUITE = ["tests/reliability"]
WORKFLOW_TESTS = [
    "tests/test_workflows.py::test_zizmor_offline_finds_nothing",
    "tests/test_workflows.py::test_no_pull_request_target",
]

# What this suite found in the product, and how each was fixed (commit subjects).
FINDINGS: tuple[tuple[str, str, str], ...] = (
    (
        "load",
        "an older dev promotion that started after a newer one had landed overwrote it",
        "fix(promote): an older dev promotion that starts after a newer one landed is "
        "superseded (Promoted-At compared as times, always)",
    ),
    (
        "load",
        "under 20 concurrent pushers a promotion needed up to 7 of its 8 push attempts: "
        "rejections (others landing first) and server failures shared one budget",
        "fix(git): rejections because another push landed first have their own budget",
    ),
    (
        "faults",
        "a retried PR create whose first answer was lost failed with exit 2 "
        "('A pull request already exists')",
        "fix(github): adopt the PR GitHub already opened",
    ),
    (
        "faults",
        "no way to bound the wait for a hung GitHub API call below 30 s",
        "feat(github): GITOPS_PROMOTE_API_TIMEOUT",
    ),
    (
        "corpus",
        "--config with '..' or an absolute path, or promotion.yaml symlinked out of the "
        "repo, was read",
        "fix(config): refuse a config path outside the repo",
    ),
    (
        "corpus",
        "an unknown placeholder in --message was an internal error raised after the overlay "
        "was edited, leaving a --repo checkout dirty",
        "fix(promote): validate --message/--title templates up front",
    ),
    (
        "corpus",
        "bad arguments printed argparse's usage block, not one error line",
        "fix(cli): bad arguments are one 'error:' line",
    ),
    (
        "security",
        "git child processes inherited the raw token in GITOPS_PROMOTE_TOKEN / INPUT_TOKEN",
        "fix(git): git children no longer inherit the token's own variables",
    ),
)


@dataclass
class Case:
    """One test case of the run: where it lives, how it ended, what it recorded."""

    file: str
    name: str
    outcome: str  # passed | failed | error | skipped
    seconds: float
    figures: dict[str, str] = field(default_factory=dict)


def run_suite(junit: Path, workers: int) -> tuple[int, float]:
    """pytest over the suite (and the workflow tests it refers to); (exit code, seconds)."""
    argv = [
        sys.executable,
        "-m",
        "pytest",
        *SUITE,
        *WORKFLOW_TESTS,
        f"--junitxml={junit}",
        "-o",
        "junit_family=xunit1",
        "-p",
        "no:cacheprovider",
        "-q",
    ]
    if workers > 1:
        argv += ["-n", str(workers)]
    started = time.monotonic()
    code = subprocess.run(argv, cwd=ROOT, check=False).returncode
    return code, time.monotonic() - started


def read_junit(junit: Path) -> list[Case]:
    tree = ET.parse(junit)  # noqa: S314 - written by pytest a moment ago
    cases = []
    for node in tree.iter("testcase"):
        outcome = "passed"
        for tag in ("failure", "error", "skipped"):
            if node.find(tag) is not None:
                outcome = {"failure": "failed"}.get(tag, tag)
        figures = {
            prop.get("name", "").removeprefix("figure:"): prop.get("value", "")
            for prop in node.iter("property")
            if prop.get("name", "").startswith("figure:")
        }
        classname = node.get("classname", "")
        file = node.get("file") or classname.replace(".", "/") + ".py"
        cases.append(
            Case(file, node.get("name", ""), outcome, float(node.get("time") or 0), figures)
        )
    return cases


# -- rendering --------------------------------------------------------------------------------


def _in(cases: Iterable[Case], module: str) -> list[Case]:
    return [c for c in cases if module in c.file]


def _figures(cases: Iterable[Case]) -> dict[str, str]:
    out: dict[str, str] = {}
    for case in cases:
        if case.outcome == "passed":
            out.update(case.figures)
    return out


def _int(figures: dict[str, str], prefix: str) -> int:
    return sum(int(v) for k, v in figures.items() if k.startswith(prefix) and v.isdigit())


def _status(cases: list[Case]) -> str:
    if not cases:
        return "not run"
    bad = [c for c in cases if c.outcome in ("failed", "error")]
    skipped = [c for c in cases if c.outcome == "skipped"]
    if bad:
        return f"**{len(bad)} of {len(cases)} FAILED**"
    if skipped:
        return f"{len(cases) - len(skipped)} passed, {len(skipped)} skipped"
    return f"{len(cases)} passed"


def _machine() -> str:
    cpus = os.cpu_count() or 0
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    git = subprocess.run(["git", "--version"], capture_output=True, text=True, check=False)
    return (
        f"{platform.system()} {platform.release()}, {cpus} CPU(s){f' ({model})' if model else ''}"
        f", Python {platform.python_version()}, {git.stdout.strip()}"
    )


def render(cases: list[Case], *, seconds: float | None, workers: int | None) -> str:
    load, faults = _in(cases, "test_load"), _in(cases, "test_faults")
    hand, generated = _in(cases, "test_corpus_cli"), _in(cases, "test_corpus_generated")
    security, workflows = _in(cases, "test_security"), _in(cases, "test_workflows")
    figs = _figures(cases)
    ran = f"in {seconds:.0f} s with {workers} worker(s)" if seconds is not None else ""
    total_bad = sum(1 for c in cases if c.outcome in ("failed", "error"))
    lines = [
        "# Reliability and security",
        "",
        "<!-- generated by `python tests/reliability/report.py`; do not edit by hand -->",
        "",
        "What the suite in `tests/reliability/` shows, with the figures of its last run. It runs",
        "in CI with the rest of the tests; this page is regenerated by one command:",
        "",
        "```sh",
        "python tests/reliability/report.py",
        "```",
        "",
        f"Last run: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} {ran}, on {_machine()}.",
        f"Result: {len(cases)} test cases, "
        + ("all passed." if not total_bad else f"**{total_bad} failed**."),
        "",
        "| part | what | result |",
        "|---|---|---|",
        f"| load | concurrent dev promotions over one HTTP git server | {_status(load)} |",
        f"| faults | git and GitHub failures, kills, then a re-run | {_status(faults)} |",
        f"| bad input, hand-picked | real child processes | {_status(hand)} |",
        f"| bad input, generated | Hypothesis, in-process | {_status(generated)} |",
        f"| security | token, gated envs, check, workflows | {_status(security)} |",
        f"| workflows | zizmor, pull_request_target (tests/test_workflows.py) | "
        f"{_status(workflows)} |",
        "",
    ]
    lines += _load_section(figs)
    lines += _fault_section(faults, figs)
    lines += _corpus_section(hand, generated, figs)
    lines += _security_section(security, workflows, figs)
    lines += [
        "## Found by this suite",
        "",
        "Each was a failing test first, then a small fix in `src/`:",
        "",
        "| part | what went wrong | fix |",
        "|---|---|---|",
        *(f"| {part} | {what} | {fix} |" for part, what, fix in FINDINGS),
        "",
    ]
    return "\n".join(lines)


def _load_section(figs: dict[str, str]) -> list[str]:
    get = figs.get
    return [
        "## Load",
        "",
        f"{get('load.promotions', '?')} dev promotions of {get('load.apps', '?')} apps "
        f"({get('load.racing_apps', '?')} apps with 2 or 3 racing promotions) start together as",
        "child processes against one git-over-HTTP server. Each has its own request time",
        "(`--now`); later means newer.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| promotions that landed (a commit on main) | {get('load.landed', '?')} |",
        f"| promotions superseded by a newer one of the same app | {get('load.superseded', '?')} |",
        f"| promotions lost | {get('load.lost', '?')} |",
        f"| push attempts / rejected and re-applied | {get('load.push_attempts', '?')} / "
        f"{get('load.rejected_pushes', '?')} |",
        f"| most pushes one promotion needed (budget: 40 rejected, 8 failed) | "
        f"{get('load.max_pushes_one_promotion', '?')} |",
        f"| merge commits on main | {get('load.merge_commits', '?')} |",
        "",
        "Asserted: every run exits 0; every pushed commit is on main and touches exactly its",
        "own app's dev overlay; every superseded promotion has a newer one of its app that",
        "landed; every app ends at its newest digest; no half-written overlay on any branch.",
        "A promotion requested earlier that starts after a newer one landed is superseded too.",
        "",
    ]


def _fault_section(faults: list[Case], figs: dict[str, str]) -> list[str]:
    rows = []
    for case in sorted(faults, key=lambda c: c.name):
        recovered = [k for k in case.figures if k.endswith(".recovered")]
        first = [v for k, v in case.figures.items() if k.endswith(".first-run")]
        result = "recovered" if case.outcome == "passed" and recovered else case.outcome
        rows.append(f"| `{case.name}` | {first[0] if first else '-'} | {result} |")
    injected = len(faults)
    recovered_n = _int(figs, "fault.")
    pr_cases = [c for c in faults if "github" in c.name or "pr" in c.name]
    return [
        "## Faults",
        "",
        f"{injected} faults injected, {recovered_n} recovered. After each, the same promotion",
        "runs again and converges. Asserted after every one: **0 duplicate PRs** (exactly one",
        f"PR, fully dressed, in {len(pr_cases)} GitHub-side cases), **0 lost commits** (every",
        "commit on main before and during the fault is still there), **0 half-edited files**",
        "(every overlay on every branch is byte-exact), main never moved by a gated env.",
        "",
        "| fault (test) | first run | outcome |",
        "|---|---|---|",
        *rows,
        "",
        "GitHub faults come from the OpenAPI-held fake (`fail_next`): 502, 403 secondary rate",
        "limit with `Retry-After`, and a hang past `GITOPS_PROMOTE_API_TIMEOUT` (2 s in the",
        "tests); *after-it-was-created* means GitHub did the work and only the answer was lost.",
        "git faults come from the test server: 500, a dropped connection, and",
        "`drop-after-backend` (the push landed, its answer was lost).",
        "",
    ]


def _corpus_section(hand: list[Case], generated: list[Case], figs: dict[str, str]) -> list[str]:
    by_category: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # inputs, refused
    for case in hand:
        ident = case.name.partition("[")[2].rstrip("]")
        category = "remote" if "remote" in case.name else ident.split("-", 1)[0]
        by_category[category][0] += 1
        by_category[category][1] += case.outcome == "passed"
    gen = {
        k.removeprefix("corpus.generated."): int(v)
        for k, v in figs.items()
        if k.startswith("corpus.generated.") and v.isdigit()
    }
    hand_total, gen_total = sum(v[0] for v in by_category.values()), sum(gen.values())
    return [
        "## Bad input",
        "",
        f"**{hand_total + gen_total} bad inputs**: {hand_total} hand-picked, run as real child",
        f"processes, and {gen_total} generated by Hypothesis, run through `cli.main` in-process.",
        "Every one must be refused: exit 2, only `error:` lines on stderr (exactly one; for a",
        "config file one per problem), no traceback, no internal error, and nothing written",
        "(the checkout's files and its whole `.git`, or the remote's refs, byte-identical).",
        "",
        "| hand-picked | inputs | refused |",
        "|---|---|---|",
        *(f"| {k} | {n} | {ok} |" for k, (n, ok) in sorted(by_category.items())),
        f"| **total** | **{hand_total}** | {_status(hand)} |",
        "",
        "| generated (distinct inputs this run) | inputs | refused |",
        "|---|---|---|",
        *(f"| {k} | {v} | {v} |" for k, v in sorted(gen.items())),
        f"| **total** | **{gen_total}** | {_status(generated)} |",
        "",
        "Generated inputs are bad by construction: references and digests are checked against",
        "the distribution grammar, times against ISO 8601, time zones against the tz database;",
        "promotion.yaml gets one or two of: unknown keys, env or dependency cycles, unknown",
        "references, bad cron, bad time zones, wrong types, bad durations and names, paths out",
        "of the repo, duplicates; overlays are binary, UTF-16/32, Latin-1, broken YAML, alias",
        "bombs, not mappings, or have duplicate keys; paths use `..`, are absolute, or are",
        "symlinks out of the repo. The hand-picked set adds a 50 MiB overlay, a 6 MiB",
        "promotion.yaml, bad flags, and remotes with credentials in the URL.",
        "",
    ]


def _security_section(
    security: list[Case], workflows: list[Case], figs: dict[str, str]
) -> list[str]:
    get = figs.get
    check = sorted(
        k.removeprefix("security.check.").removesuffix(".executed")
        for k in figs
        if k.startswith("security.check.")
    )
    templates = sorted(
        k.removeprefix("security.branch-template.").removesuffix(".refused")
        for k in figs
        if k.startswith("security.branch-template.")
    )
    zizmor = [c for c in workflows if "zizmor" in c.name]
    return [
        "## Security",
        "",
        "| what | figure |",
        "|---|---|",
        f"| token: runs scanned (Actions mode: action entry point and CLI, push, PR open and "
        f"update, status, check, 403, wrong token, token in URL, debug on) | "
        f"{get('security.token.runs', '?')} |",
        f"| token: git processes whose argv, environment and .git/config were logged | "
        f"{get('security.token.git_processes', '?')} |",
        f"| token: places scanned (stdout, stderr, GITHUB_OUTPUT, job summary, git argv/env/"
        f"config, URLs, commit messages, PRs) | {get('security.token.places_scanned', '?')} |",
        f"| token: leaks found | {get('security.token.leaks', '?')} |",
        f"| gated envs: flag combinations tried | {get('security.gated.combinations', '?')} |",
        f"| gated envs: exit codes of those runs | {get('security.gated.outcomes', '?')} |",
        f"| gated envs: pushes to the base branch | "
        f"{get('security.gated.base_branch_pushes', '?')} |",
        f"| branch templates naming the base branch, refused | {', '.join(templates) or '?'} |",
        f"| check: PR shapes that would run code, none executed | {', '.join(check) or '?'} |",
        f"| workflow YAML scanned for pull_request_target (files and doc snippets) | "
        f"{get('security.workflows.yaml_scanned', '?')}, 0 found |",
        f"| zizmor, offline, every workflow and action.yml (tests/test_workflows.py) | "
        f"{_status(zizmor)} |",
        "",
        "The token is allowed in exactly one place: the value of `http.<url>.extraHeader`",
        "handed to git through `GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n` (base64 in a Basic",
        "header), and the runner's own `::add-mask::` command. The check renders with",
        "kustomize's plugins, exec functions and Helm disabled and refuses such overlays",
        "before rendering; a trap script (exec function, `helm` on PATH, a legacy plugin where",
        "kustomize looks) proves nothing ran.",
        "",
        f"Security suite: {_status(security)}.",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--junit", type=Path, help="render from this junit xml; do not run")
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers (2)")
    parser.add_argument("--output", type=Path, default=DOC, help=f"default: {DOC}")
    args = parser.parse_args(argv)
    code, seconds, workers = 0, None, None
    with tempfile.TemporaryDirectory(prefix="reliability-") as tmp:
        junit = args.junit
        if junit is None:
            junit = Path(tmp) / "junit.xml"
            code, seconds = run_suite(junit, args.workers)
            workers = args.workers
        if not junit.exists():
            print(f"error: {junit}: no junit xml (did pytest start?)", file=sys.stderr)
            return code or 3
        cases = read_junit(junit)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(cases, seconds=seconds, workers=workers), encoding="utf-8")
    shown = args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output
    print(f"wrote {shown}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
