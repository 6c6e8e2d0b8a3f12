"""``gitops-promote action``: the entry point of the GitHub Action and the container image.

Reads the action's inputs from ``INPUT_*`` (never from argv, never interpolated into a
script), masks the secrets at once, puts credentials in the environment where the
commands look for them, and runs the chosen command in this process with the matching
arguments (shown in the log), so the action and the CLI are one program.
"""

from __future__ import annotations

import argparse
import os
import shlex
from collections.abc import Callable
from importlib import import_module

from gitops_promote.adapters import actions, secrets
from gitops_promote.adapters.escape import log
from gitops_promote.adapters.secrets import redact
from gitops_promote.commands import common
from gitops_promote.errors import InputError, quote

COMMANDS = (
    "promote",
    "check",
    "recheck",
    "soak",
    "status",
    "validate",
    "history",
    "metrics",
    "calendar",
)
TRUE = {"true", "True", "TRUE", "yes", "1", "on"}
FALSE = {"false", "False", "FALSE", "no", "0", "off", ""}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Inputs come from INPUT_<NAME> environment variables (as GitHub Actions and "
        "`docker run -e INPUT_COMMAND=check ...` set them); see action.yml."
    )


def get(name: str) -> str:
    """``INPUT_CONFIG_REPO`` (composite action env) or ``INPUT_CONFIG-REPO`` (container)."""
    upper = name.upper()
    for key in (f"INPUT_{upper.replace('-', '_')}", f"INPUT_{upper}"):
        value = os.environ.get(key, "").strip()
        if value:
            return value
    return ""


def flag(name: str) -> bool:
    value = get(name)
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise InputError(f"input {name}: {quote(value)} is not a boolean", hint="use true or false")


def _names(value: str) -> list[str]:
    return [p.strip() for p in value.replace("\n", ",").split(",") if p.strip()]


def _values(argv: list[str], *pairs: tuple[str, str]) -> None:
    """``option value`` for each input of ``pairs`` (input, option) that is set."""
    for name, option in pairs:
        if get(name):
            argv += [option, get(name)]


def _lists(argv: list[str], *pairs: tuple[str, str]) -> None:
    """``option value`` for each name in each list input of ``pairs`` (input, option)."""
    for name, option in pairs:
        for value in _names(get(name)):
            argv += [option, value]


def _location(argv: list[str]) -> None:
    if get("config-repo"):
        argv += ["--config-repo", get("config-repo")]
    else:
        argv += ["--repo", get("repo-path") or os.environ.get("GITHUB_WORKSPACE") or "."]
    _values(
        argv,
        ("config-path", "--config"),
        ("base-branch", "--base-branch"),
        ("app-id", "--app-id"),
        ("github-api-url", "--github-api-url"),
    )


def _promote(argv: list[str]) -> None:
    _lists(argv, ("app", "--app"))
    if not get("app") and flag("all"):
        argv.append("--all")
    if not get("environment"):
        raise InputError("input environment is empty", hint="set `environment: dev` (or another)")
    argv += ["--env", get("environment")]
    image, digest, tag = get("image"), get("digest"), get("tag")
    if image and (digest or tag) and "@" not in image:
        argv += ["--image", image + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")]
    elif image:
        argv += ["--image", image]
    elif digest:
        argv += ["--digest", digest]
    elif tag:
        argv += ["--tag", tag]
    for name, option in (
        ("latest", "--latest"),
        ("rollback", "--rollback"),
        ("dry-run", "--dry-run"),
        ("draft", "--draft"),
        ("allow-downgrade", "--allow-downgrade"),
        ("defer-gates", "--defer-gates"),
        ("skip-registry-check", "--skip-registry-check"),
    ):
        if get(name) and flag(name):
            argv.append(option)
    _lists(
        argv,
        ("labels", "--label"),
        ("reviewers", "--reviewer"),
        ("team-reviewers", "--team-reviewer"),
    )
    _values(
        argv,
        ("auto-merge", "--auto-merge"),
        ("commit-author", "--author"),
        ("commit-message", "--message"),
        ("pr-title", "--title"),
        ("now", "--now"),
    )


def _check(argv: list[str]) -> None:
    if get("combine"):  # the fan-in of a sharded check: the verdicts, not the repo
        argv += ["--combine", get("combine")]
    _values(
        argv,
        ("base", "--base"),
        ("head", "--head"),
        ("now", "--now"),
        ("shard", "--shard"),
        ("output", "--output"),
    )
    if get("comment") and flag("comment"):
        argv.append("--comment")
    if get("set-status") and flag("set-status"):
        argv.append("--set-status")
    if get("status-context"):
        argv += ["--status-context", get("status-context")]


def _recheck(argv: list[str]) -> None:
    _values(
        argv, ("status-context", "--status-context"), ("state-file", "--state"), ("now", "--now")
    )
    if get("dry-run") and flag("dry-run"):
        argv.append("--dry-run")


def _soak(argv: list[str]) -> None:
    if get("dry-run") and flag("dry-run"):
        argv.append("--dry-run")
    _values(argv, ("now", "--now"), ("shard", "--shard"))


def _status(argv: list[str]) -> None:
    argv += ["--format", get("format") or "markdown"]
    if get("live") and flag("live"):
        argv.append("--live")


def _metrics(argv: list[str]) -> None:
    """The job summary gets the markdown whatever the format; ``format`` picks the log's."""
    _values(argv, ("since", "--since"), ("until", "--until"), ("now", "--now"))
    _lists(argv, ("app", "--app"), ("environment", "--env"))
    argv += ["--format", get("format") or "markdown"]


def _calendar(argv: list[str]) -> None:
    """The .ics file goes to ``output`` (e.g. for actions/upload-artifact), else the log."""
    _values(argv, ("days", "--days"), ("output", "--output"), ("now", "--now"))
    _lists(argv, ("environment", "--env"))


def _nothing(argv: list[str]) -> None:
    """validate takes only the location arguments."""


def _history(argv: list[str]) -> None:
    argv += ["--app", get("app"), "--env", get("environment")]


BUILDERS: dict[str, Callable[[list[str]], None]] = {
    "promote": _promote,
    "check": _check,
    "recheck": _recheck,
    "soak": _soak,
    "status": _status,
    "validate": _nothing,
    "history": _history,
    "metrics": _metrics,
    "calendar": _calendar,
}


def argv_from_inputs() -> list[str]:
    """The command line the inputs stand for (it never carries a secret)."""
    command = get("command") or "promote"
    if command not in BUILDERS:
        raise InputError(
            f"input command: {quote(command)} is not a command",
            hint=f"use one of: {', '.join(COMMANDS)}",
        )
    argv = [command]
    BUILDERS[command](argv)
    _location(argv)
    return argv


def export_credentials() -> None:
    """Mask the secrets at once and hand them to the commands through the environment."""

    token = get("token")
    key = get("app-private-key")
    for secret in (token, key):
        actions.mask(secret)
        secrets.register(secret)
    for line in key.splitlines():
        if len(line) > 8 and "PRIVATE KEY" not in line:
            actions.mask(line)
    if token:
        os.environ["GITOPS_PROMOTE_TOKEN"] = token
    if key:
        os.environ["GITOPS_PROMOTE_APP_PRIVATE_KEY"] = key


def shown(argv: list[str]) -> str:
    """The command line as the log shows it: each word shell-quoted with its invisible
    characters written out, so an input value can neither start a workflow command nor
    pass for another option."""

    return log(redact(shlex.join(["gitops-promote", *argv])))


def run(args: argparse.Namespace) -> int:
    """Run the command the inputs name, in this process: its own parser reads the
    arguments shown in the log, its ``run`` builds the typed request and delivers it
    (errors reach the one handler of :func:`gitops_promote.cli.main` that called this)."""
    export_credentials()
    argv = argv_from_inputs()
    print(shown(argv), flush=True)
    command, words = argv[0], argv[1:]
    module = import_module(f"gitops_promote.commands.{command}")
    parser = common.Parser(prog=f"gitops-promote {command}")
    module.add_arguments(parser)
    run_command: Callable[[argparse.Namespace], int] = module.run
    return run_command(parser.parse_args(words))
