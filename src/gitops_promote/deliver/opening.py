"""The workspace of a promotion: the author's identity and the clone (or checkout) with
what the superseded check reads, opened before the rest of the promotion is loaded.

Kept light (the workspace adapter and the request), so that ``promote`` starts its clone
first and loads the orchestrator (:mod:`gitops_promote.deliver.promotion`) while git
works (:mod:`gitops_promote.deliver.warm`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from gitops_promote.adapters.git import DEFAULT_IDENTITY, Identity
from gitops_promote.adapters.workspace import Credentials, Location, Workspace, open_workspace
from gitops_promote.deliver.requests import PromoteRequest
from gitops_promote.errors import InputError, quote

RECENT = timedelta(days=1)


def superseded_window(now: datetime) -> datetime:
    """Where the superseded check looks back to: a commit landed more than RECENT before
    this request cannot carry a later stamp (a stamp is taken before its commit is made).
    --now may lie in the future or the past while commit dates are the clock's: look back
    from the earlier of the two."""
    return min(now, datetime.now(UTC)) - RECENT


def parse_identity(text: str | None) -> Identity:
    if not text:
        return DEFAULT_IDENTITY
    match = re.fullmatch(r"\s*(.+?)\s*<([^<>\s]+@[^<>\s]+)>\s*", text)
    if not match:
        raise InputError(
            f"--author {quote(text)} is not 'Name <email>'", hint="e.g. 'CI Bot <ci@example.com>'"
        )
    return Identity(match.group(1), match.group(2))


@contextmanager
def workspace(req: PromoteRequest, loc: Location, creds: Credentials) -> Iterator[Workspace]:
    """The promotion's workspace (removed, or put back, on the way out)."""
    identity = parse_identity(req.author)
    with open_workspace(
        loc,
        creds,
        identity=identity,
        noop=False,
        require_clean=not req.dry_run,
        # a dev push reads no history but the superseded check's recent commits; whatever
        # reads more fetches it first
        shallow=True,
        recent=superseded_window(req.now),
    ) as ws:
        yield ws
