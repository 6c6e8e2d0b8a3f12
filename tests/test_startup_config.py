"""What makes promotion.yaml of thousands of apps quick to load changes no result: the
overlap rule's path arithmetic is PurePosixPath's, and the garbage collector paused while
a file is read is running again afterwards, after a good file and a bad one alike."""

from __future__ import annotations

import contextlib
import gc
import itertools
from pathlib import PurePosixPath

import pytest

from gitops_promote.config.load import parse_config
from gitops_promote.config.rules import _parents, _posix
from gitops_promote.errors import ConfigError

PARTS = ("", ".", "..", "a", "b.c", "{app}", " ", "x:y")


def test_overlay_paths_are_pure_posix_paths() -> None:
    for count in range(1, 4):
        for parts in itertools.product(PARTS, repeat=count):
            for lead in ("", "/", "//", "///", "./"):
                for trail in ("", "/", "/.", "//"):
                    rel = lead + "/".join(parts) + trail
                    expected = PurePosixPath(rel)
                    assert _posix(rel) == str(expected), rel
                    assert _parents(_posix(rel)) == [str(p) for p in expected.parents], rel


GOOD = """\
version: 1
environments:
  - {name: dev, path: 'apps/{app}/dev', mode: push}
apps:
  api: {image: ghcr.io/acme/api}
"""


@pytest.mark.parametrize("text", [GOOD, GOOD + "  bad: {image: 'Not An Image'}\n", "[1"])
def test_the_collector_runs_again_after_a_read(text: str) -> None:
    assert gc.isenabled()
    with contextlib.suppress(ConfigError):
        parse_config(text, f"promotion-{len(text)}.yaml")
    assert gc.isenabled()
    gc.disable()
    try:  # and a caller that had it off keeps it off
        with contextlib.suppress(ConfigError):
            parse_config(text, f"other-{len(text)}.yaml")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_overlays_are_still_refused() -> None:
    text = GOOD.replace("apps:", "  - {name: staging, path: 'apps/{app}', from: dev}\napps:")
    with pytest.raises(ConfigError) as raised:
        parse_config(text, "overlap.yaml")
    assert "lies inside apps/api" in str(raised.value)
