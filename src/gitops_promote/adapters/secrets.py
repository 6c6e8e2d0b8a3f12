"""Secret masking: every token the program learns is registered here, and every line it
prints, every message it raises, passes through :func:`redact` on the way out."""

from __future__ import annotations

import base64
import threading

_MASK = "***"
_lock = threading.Lock()
_secrets: set[str] = set()


def register(secret: str | None) -> None:
    """Remember a secret so that :func:`redact` hides it (and its base64 forms)."""
    if not secret or len(secret) < 4:
        return

    forms = {secret}
    for prefix in ("", "x-access-token:", "x-token:", "git:", "oauth2:"):
        forms.add(base64.b64encode(f"{prefix}{secret}".encode()).decode())
    with _lock:
        _secrets.update(forms)


def redact(text: str) -> str:
    """Replace every registered secret in ``text`` with ``***``."""
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, _MASK)
    return text


def clear() -> None:
    """Forget every registered secret (tests)."""
    with _lock:
        _secrets.clear()
