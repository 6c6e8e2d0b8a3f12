"""Arguments and helpers every command shares: where the config repo is, credentials,
output format, ``--now``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gitops_promote.adapters.escape import json_output, log_lines
from gitops_promote.adapters.secrets import redact

# re-exported: the parser and the path check live where the CLI loads them cheaply
from gitops_promote.commands.argv import Parser as Parser  # noqa: PLC0414
from gitops_promote.commands.argv import path_argument as path_argument  # noqa: PLC0414
from gitops_promote.config.durations import TIME_RANGE, format_duration, in_time_range
from gitops_promote.config.model import DEFAULT_CONFIG_PATH

# re-exported: the commands pick the env and apps a request names as delivery does
from gitops_promote.deliver.inputs import open_config as open_config  # noqa: PLC0414
from gitops_promote.deliver.inputs import pick_apps as pick_apps  # noqa: PLC0414
from gitops_promote.deliver.inputs import pick_env as pick_env  # noqa: PLC0414
from gitops_promote.deliver.inputs import require_commits as require_commits  # noqa: PLC0414
from gitops_promote.deliver.requests import NOW_AHEAD
from gitops_promote.errors import InputError, quote

if TYPE_CHECKING:
    from gitops_promote.adapters.workspace import Credentials, Location


def add_location_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("config repository")
    where = group.add_mutually_exclusive_group()
    where.add_argument(
        "--repo", metavar="DIR", help="work in this checkout of the config repo (default: .)"
    )
    where.add_argument(
        "--remote", metavar="URL", help="clone this config repo (partial, sparse) to work on it"
    )
    where.add_argument(
        "--config-repo", metavar="OWNER/NAME", help="clone this GitHub repository to work on it"
    )
    group.add_argument(
        "--config",
        default=DEFAULT_CONFIG_PATH,
        metavar="PATH",
        help=f"promotion.yaml path inside the repo (default: {DEFAULT_CONFIG_PATH})",
    )
    group.add_argument(
        "--base-branch", metavar="BRANCH", help="base branch (default: settings.base-branch)"
    )
    auth = parser.add_argument_group("credentials (from the environment, never argv)")
    auth.add_argument(
        "--token-env",
        metavar="NAME",
        help="environment variable holding the token (default: GITOPS_PROMOTE_TOKEN, "
        "then GITHUB_TOKEN)",
    )
    auth.add_argument(
        "--app-id",
        metavar="ID",
        help="GitHub App id (its private key in GITOPS_PROMOTE_APP_PRIVATE_KEY)",
    )
    auth.add_argument(
        "--github-api-url",
        metavar="URL",
        help="GitHub API URL, for GitHub Enterprise Server (default: GITHUB_API_URL)",
    )


def location(args: argparse.Namespace) -> Location:
    from gitops_promote.adapters.workspace import Location  # noqa: PLC0415 - lazy: git modules

    return Location(
        repo_dir=path_argument("--repo", args.repo),
        remote=args.remote,
        config_repo=args.config_repo,
        base_branch=args.base_branch,
        config_path=path_argument("--config", args.config),
    )


def credentials(args: argparse.Namespace) -> Credentials:
    from gitops_promote.adapters.workspace import credentials_from_env  # noqa: PLC0415

    return credentials_from_env(args.token_env, args.app_id, args.github_api_url)


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    """``--app`` and ``--env``: only these apps, environments (repeat, or comma-separated)."""
    parser.add_argument("--app", action="append", metavar="APP", help="only these apps")
    parser.add_argument("--env", action="append", metavar="ENV", help="only these environments")


def add_format_arguments(parser: argparse.ArgumentParser, formats: list[str]) -> None:
    """``--format`` (the first of ``formats`` by default) and ``--json``, its shorthand."""
    parser.add_argument(
        "--format",
        choices=formats,
        default=formats[0],
        help=f"output format (default: {formats[0]})",
    )
    parser.add_argument("--json", action="store_true", help="same as --format json")


def add_now_argument(parser: argparse.ArgumentParser, extra: str = "") -> None:
    parser.add_argument(
        "--now",
        metavar="TIME",
        help=f"evaluate time-based gates at this ISO 8601 time (default: now){extra}",
    )


def parse_now(text: str | None) -> datetime:
    """``--now`` as an aware time (no offset: UTC); the clock's time when not given."""
    if not text:
        return datetime.now(UTC)
    example = "e.g. 2026-11-27T17:00:00+01:00"
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--now {quote(text)} is not an ISO 8601 time", hint=example) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if not in_time_range(moment):
        raise InputError(
            f"--now {quote(text)} is out of range", hint=f"give a time {TIME_RANGE}, {example}"
        )
    return moment


def require_not_ahead(now: datetime, text: str | None, what: str) -> None:
    """Refuse a ``--now`` more than :data:`NOW_AHEAD` ahead of the clock for a command that
    writes: the time becomes the promotion's Promoted-At, and a stamp from the future would
    make every later promotion of the overlay look older (superseded)."""
    clock = datetime.now(UTC)
    if text and now - clock > NOW_AHEAD:
        raise InputError(
            f"--now {quote(text)} is {format_duration(now - clock)} ahead of the clock; "
            f"{what} records it as the promotion's request time",
            hint=f"give a time at most {format_duration(NOW_AHEAD)} ahead, or add --dry-run "
            "to preview at a later time",
        )


def split_names(values: Sequence[str] | None) -> list[str]:
    """``--app a --app b,c`` / newline-separated action inputs -> [a, b, c] (order kept)."""
    out: list[str] = []
    for value in values or ():
        for part in value.replace("\n", ",").split(","):
            name = part.strip()
            if name and name not in out:
                out.append(name)
    return out


def emit_json(data: Any) -> None:
    """Print ``data`` as ``json.dumps(data, indent=2, default=str)`` would, byte for byte,
    written a piece at a time (:func:`json_pieces`): 20,000 targets are never one string
    (nor its redacted and encoded copies). Generators among the outer two levels stand for
    lists and are consumed as they are written, so their elements are never all built.
    The text is redacted and escaped (:func:`json_output`) in stretches that end only
    before a newline between JSON tokens (one inside a string is escaped), where no
    secret and no ``##[`` can span."""
    write = sys.stdout.write
    held: list[str] = []
    for piece in json_pieces(data):
        if held and piece.startswith("\n"):
            write(json_output(redact("".join(held))))
            held.clear()
        held.append(piece)
    write(json_output(redact("".join(held))) + "\n")


_STREAMED_LEVELS = 2  # lists and dicts this deep are written element by element


def json_pieces(data: Any, level: int = 0) -> Iterator[str]:
    """The text of ``json.dumps(data, indent=2, default=str)`` in pieces, joined equal to
    it; a generator (any iterator) in the outer levels is written as a list of what it
    yields."""
    if isinstance(data, Iterator):
        data = _Peeked(data)
    whole = level >= _STREAMED_LEVELS or not isinstance(data, dict | list | tuple | _Peeked)
    if whole or (isinstance(data, dict) and not all(isinstance(k, str) for k in data)):
        text = json.dumps(data, indent=2, sort_keys=False, default=str)
        yield text.replace("\n", "\n" + "  " * level) if level else text
        return
    if not data:
        yield "{}" if isinstance(data, dict) else "[]"
        return
    inner = "\n" + "  " * (level + 1)
    items: Iterable[tuple[str, Any]] = (
        ((inner + json.dumps(k) + ": ", v) for k, v in data.items())
        if isinstance(data, dict)
        else ((inner, v) for v in data)
    )
    yield "{" if isinstance(data, dict) else "["
    for i, (head, value) in enumerate(items):
        if i:
            yield ","
        yield head
        yield from json_pieces(value, level + 1)
    yield "\n" + "  " * level + ("}" if isinstance(data, dict) else "]")


class _Peeked:
    """An iterator whose truth (has it anything?) is known before it is consumed."""

    def __init__(self, it: Iterator[Any]) -> None:
        self._first = next(it, _NOTHING)
        self._it = it

    def __bool__(self) -> bool:
        return self._first is not _NOTHING

    def __iter__(self) -> Iterator[Any]:
        if self._first is not _NOTHING:
            yield self._first
            yield from self._it


_NOTHING = object()


def emit_as(
    fmt: str, data: Callable[[], Any], markdown: Callable[[], str], text: Callable[[], str]
) -> None:
    """Print in the ``--format`` chosen: ``json`` (:func:`emit_json`), ``markdown``, else
    the text view (only the one chosen is built)."""
    if fmt == "json":
        emit_json(data())
    elif fmt == "markdown":
        emit(markdown())
    else:
        emit(text())


def emit(text: str) -> None:
    """Print to stdout; no line of it can run as a workflow command (the last guard: the
    values in it were escaped where the text was built)."""
    sys.stdout.write(log_lines(redact(text).removesuffix("\n")) + "\n")


def warn(text: str) -> None:
    """Print to stderr, under the same guard as :func:`emit`."""
    sys.stderr.write(log_lines(redact(text).removesuffix("\n")) + "\n")
