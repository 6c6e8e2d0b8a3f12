"""Remote URLs and the token: credentials never in a URL, never sent over plain http to
another machine, always registered as secrets before anything can print them."""

from __future__ import annotations

import base64
import re
from urllib.parse import urlsplit, urlunsplit

from gitops_promote.adapters import secrets
from gitops_promote.adapters.registry import is_loopback
from gitops_promote.errors import UserError


def safe_url(url: str) -> str:
    """``url`` without user info (for messages): ``https://host/org/repo.git``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return secrets.redact(url)
    if parts.scheme and parts.netloc and "@" in parts.netloc:
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return url


def register_url_secret(url: str) -> None:
    """Register the password (or token user name) of an http(s) URL with user info as a
    secret. The user of an ``ssh://user@host/`` URL is a login name, not a secret (masking
    it would mangle every message and drop every variable that mentions it, such as a
    ``GIT_SSH_COMMAND`` with the user's home in it)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    netloc = parts.netloc
    if parts.scheme.lower() in ("http", "https") and "@" in netloc:
        user, _, password = netloc.rsplit("@", 1)[0].partition(":")
        secrets.register(password or user)


def check_remote_url(url: str) -> str:
    """Refuse a remote URL that carries credentials (``https://user:token@host/...``).

    The password part is registered as a secret first, so no message can show it.
    """
    if not url or url != url.strip() or any(c in url for c in "\n\r\0"):
        raise UserError(f"remote URL {url!r} is not valid", hint="pass a clone URL")
    if url.startswith("-"):
        raise UserError(f"remote URL {url!r} is not valid", hint="a URL cannot start with '-'")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise UserError(f"remote URL {safe_url(url)!r} is not valid: {exc}") from None
    if parts.scheme in ("http", "https") and "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        _user, _, password = userinfo.partition(":")
        secrets.register(password or _user)
        raise UserError(
            f"remote URL {safe_url(url)} carries credentials in it",
            hint="remove them from the URL and pass the token in GITOPS_PROMOTE_TOKEN or "
            "GITHUB_TOKEN (the action's token input): "
            "it is then sent as an Authorization header, never stored",
        )
    return url


def check_token_url(url: str, *, what: str = "the config repo") -> None:
    """Refuse (UserError, exit 2) to send a token to ``url`` over plain http when its host
    is not this machine (``localhost``, ``127.0.0.0/8``, ``[::1]``): anyone on the way
    would read it. https, and http to a loopback test server, are fine."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "http":
        return

    if not is_loopback(parts.netloc.rsplit("@", 1)[-1]):
        raise UserError(
            f"refusing to send the token over plain http to {safe_url(url)}",
            hint=f"use an https URL for {what} (plain http is only for a server on this "
            "machine), or unset GITOPS_PROMOTE_TOKEN and GITHUB_TOKEN if it needs none",
        )


def github_url(repository: str, server_url: str = "https://github.com") -> str:
    """Clone URL of ``owner/name`` on GitHub (or GitHub Enterprise at ``server_url``)."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repository) or ".." in repository:
        raise UserError(
            f"config repository {repository!r} is not valid", hint="write it as owner/name"
        )
    return f"{server_url.rstrip('/')}/{repository.removesuffix('.git')}.git"


def auth_header(token: str) -> str:
    """``Authorization`` header value for a GitHub token (PAT or installation token).

    Registers the token (and the header's base64 form) as a secret.
    """
    secrets.register(token)
    raw = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    secrets.register(raw)
    return f"Basic {raw}"
