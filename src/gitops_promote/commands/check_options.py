"""The options ``check`` and ``recheck`` share, and their checks: ``--no-render``,
``--render-timeout``, ``--set-status`` and ``--status-context``."""

from __future__ import annotations

import argparse
import math

from gitops_promote.deliver.requests import STATUS_CONTEXT
from gitops_promote.errors import InputError, quote

# The commit status that carries the verdict (check --set-status, recheck): the one to make
# required in branch protection, whichever run set it.
# A render that takes an hour is stuck; a larger limit (1e20) overflows the timer itself.
MAX_RENDER_TIMEOUT = 3600.0


def add_render_arguments(parser: argparse.ArgumentParser) -> None:
    """``--no-render`` and ``--render-timeout`` (checked by :func:`render_timeout`): shared
    with recheck."""
    parser.add_argument(
        "--no-render",
        action="store_true",
        help="do not render overlays (skips drift, references and limits)",
    )
    parser.add_argument(
        "--render-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="time limit of one kustomize render, up to 3600 (default: 60)",
    )


def add_status_arguments(parser: argparse.ArgumentParser, set_help: str | None) -> None:
    """``--status-context`` (and ``--set-status`` when ``set_help``): shared with recheck."""
    if set_help is not None:
        parser.add_argument(
            "--set-status",
            action="store_true",
            help=f"{set_help} (needs statuses: write), named by --status-context",
        )
    parser.add_argument(
        "--status-context",
        default=STATUS_CONTEXT,
        metavar="NAME",
        help=f"the commit status name to make required in branch protection "
        f"(default: {STATUS_CONTEXT})",
    )


def status_context(text: str) -> str:
    """A --status-context value, checked: one line of printable text."""

    name = text.strip()
    if not name or len(name) > 100 or not name.isprintable():
        raise InputError(
            f"--status-context {quote(text)} is not a status name",
            hint=f"use one line of at most 100 printable characters, e.g. {STATUS_CONTEXT}",
        )
    return name


def render_timeout(seconds: float) -> float:
    """``--render-timeout``: a finite number of seconds, more than 0 and at most an hour."""

    if not (math.isfinite(seconds) and 0 < seconds <= MAX_RENDER_TIMEOUT):
        raise InputError(
            f"--render-timeout {seconds:g} is not a number of seconds from 0 to "
            f"{MAX_RENDER_TIMEOUT:g}",
            hint="e.g. --render-timeout 60",
        )
    return seconds
