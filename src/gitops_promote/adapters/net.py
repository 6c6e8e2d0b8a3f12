"""Small facts about hosts and HTTP answers that every HTTP client here shares (the
registry's, Argo CD's): whether a host is this machine, how long ``Retry-After`` says."""

from __future__ import annotations

import ipaddress
import time


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``, also in
    brackets): this machine. ``host`` carries no port."""
    host = host.lower().strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    import email.utils  # noqa: PLC0415 - rare, and not cheap to import

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


__all__ = ["is_loopback_host", "retry_after"]
