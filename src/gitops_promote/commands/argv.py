"""What the command line needs before it knows the command: the argument parser class and
the check that a path argument can name a file at all.

Kept to the standard library and :mod:`gitops_promote.errors`, so that ``cli`` and
``set-image`` load nothing of the config, delivery or planning code (start-up time).
"""

from __future__ import annotations

import argparse
from typing import Final, NoReturn, TypeVar

from gitops_promote.errors import InputError, quote


class Parser(argparse.ArgumentParser):
    """argparse, with bad arguments reported like every other error: one ``error:`` line
    that says where the usage is (not the usage block, then the error)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


# What every file system here takes: a name of 255 bytes, a path of 4095.
_NAME_MAX: Final = 255
_PATH_MAX: Final = 4095


_Path = TypeVar("_Path", str, None)


def path_argument(flag: str, value: _Path) -> _Path:
    """``value`` when it can name a file at all; bad input otherwise (a name or path longer
    than the file system takes, a NUL), before the OS refuses it as an unexpected error."""
    if value is None:
        return None
    raw = value.encode("utf-8", "surrogateescape")
    if b"\0" in raw or len(raw) > _PATH_MAX or any(len(p) > _NAME_MAX for p in raw.split(b"/")):
        raise InputError(
            f"{flag} {quote(value)} is not a usable path",
            hint=f"a path has at most {_PATH_MAX} bytes, {_NAME_MAX} between two '/'",
        )
    return value
