"""Command line: parse arguments, call one orchestrator, handle every error in one place.

Imports of the commands (and of what only a failure needs) are lazy so that
``gitops-promote set-image`` starts fast.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib import import_module

from gitops_promote import __version__
from gitops_promote.commands.argv import Parser
from gitops_promote.errors import GateError, PromoteError

# command name -> (module under gitops_promote.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "promote": ("promote", "pin an image in an environment: push (dev) or pull request"),
    "status": ("status", "what every app runs in every environment, and since when"),
    "soak": ("soak", "promote every digest that has soaked long enough upstream (cron)"),
    "history": ("history", "every pin change of an app in an environment, with its PR"),
    "metrics": ("metrics", "delivery metrics (DORA) from the promotion history"),
    "calendar": ("calendar", "an iCalendar file of freeze windows and expected soak promotions"),
    "set-image": ("set_image", "edit one overlay offline, like 'kustomize edit set image'"),
    "validate": ("validate", "check promotion.yaml and that every overlay carries its image"),
    "schema": ("schema", "print the JSON Schema of promotion.yaml"),
    "policy": ("policy", "the repo's Rego policies: run their unit tests, or evaluate an overlay"),
    "check": ("check", "the required status check on config-repo pull requests (the gates)"),
    "recheck": ("recheck", "keep every open pull request's check status current (cron)"),
    "codeowners": ("codeowners", "write the envs' owners: into a marked block of CODEOWNERS"),
    "action": ("action", "run as the GitHub Action / container entry point (reads INPUT_*)"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only``, just that command's sub-parser is built, so a command
    imports nothing it does not use (``gitops-promote --help`` builds them all)."""
    parser = Parser(
        prog="gitops-promote",
        description="Promote verified container images through GitOps environments.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        if only is not None and name != only:
            continue  # a sub-parser costs ~2 ms to build: only the one in use
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        import_module(f"gitops_promote.commands.{module}").add_arguments(cmd)
        cmd.set_defaults(_module=module)
    return parser


def _command_of(argv: Sequence[str]) -> str | None:
    """The command named on the command line (the first word that is one), if any."""
    return next((word for word in argv if word in COMMANDS), None)


def _report_error(error: PromoteError) -> None:
    """One place for every failure: stderr, and in Actions an annotation + job summary."""
    from gitops_promote.adapters import actions  # noqa: PLC0415
    from gitops_promote.adapters.escape import log, md_text  # noqa: PLC0415
    from gitops_promote.adapters.secrets import redact  # noqa: PLC0415

    text = redact(str(error))
    lines = text.rstrip("\n").split("\n")
    for line in lines:
        print(f"error: {log(line)}", file=sys.stderr)
    if actions.in_actions():
        title = {1: "promotion refused", 2: "invalid input"}.get(error.exit_code, "failed")
        where = error.where if isinstance(error, GateError) else ()
        for spot in where:
            actions.annotate(
                "error",
                spot.message,
                file=spot.file,
                line=spot.line,
                title=f"gitops-promote: {title}" + (f" ({spot.title})" if spot.title else ""),
            )
        for line in [] if where else lines:
            actions.annotate("error", line, title=f"gitops-promote: {title}")
        body = "\n".join(f"> {md_text(line)}" for line in lines)
        actions.append_summary(f"### gitops-promote: {title}\n\n{body}\n")


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived: raised in the main thread so that every ``finally`` and
    context manager runs (a temporary clone is removed, a background git is stopped)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def _signals_unwind() -> Iterator[None]:
    """While a command runs, SIGINT and SIGTERM raise :class:`Interrupted` (SIGTERM would
    otherwise end the process at once, leaving its temporary clone behind); a second
    signal while the first unwinds is ignored, so the clean-up finishes. The previous
    handlers come back afterwards. Outside the main thread, nothing changes."""
    wanted = (signal.SIGINT, signal.SIGTERM)

    def handler(signum: int, _frame: object) -> None:
        for number in wanted:
            signal.signal(number, signal.SIG_IGN)
        raise Interrupted(signum)

    try:
        previous = {number: signal.signal(number, handler) for number in wanted}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    only = _command_of(args_list)
    if only is None and "--version" in args_list:
        only = ""  # the version needs no command's parser
    parser = build_parser(only)
    args = parser.parse_args(args_list)
    run: Callable[[argparse.Namespace], int] = import_module(
        f"gitops_promote.commands.{args._module}"
    ).run
    try:
        with _signals_unwind():
            return run(args)
    except PromoteError as error:
        _report_error(error)
        return error.exit_code
    except KeyboardInterrupt as interrupt:
        signum = interrupt.signum if isinstance(interrupt, Interrupted) else signal.SIGINT
        name = signal.Signals(signum).name
        print(f"error: interrupted ({name})", file=sys.stderr)
        return 128 + signum
    except Exception as error:  # noqa: BLE001 - a bug: one redacted line, traceback on demand
        import os  # noqa: PLC0415
        import traceback  # noqa: PLC0415

        if os.environ.get("GITOPS_PROMOTE_DEBUG"):
            from gitops_promote.adapters.escape import log_lines  # noqa: PLC0415
            from gitops_promote.adapters.secrets import redact  # noqa: PLC0415

            print(log_lines(redact(traceback.format_exc())), file=sys.stderr)
        wrapped = PromoteError(
            f"internal error: {type(error).__name__}: {error}",
            hint="this is a bug in gitops-promote; re-run with GITOPS_PROMOTE_DEBUG=1 for the "
            "traceback and report it",
        )
        _report_error(wrapped)
        return 3
