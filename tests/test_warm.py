"""The warm-up a promotion runs while its clone does (gitops_promote.deliver.warm): every
step runs, in another thread, once; a failing step is skipped (the command meets and
reports it where it is needed); and after it, reading promotion.yaml gives the same
config as without it."""

from __future__ import annotations

import threading

from gitops_promote.config.load import parse_config
from gitops_promote.deliver import warm

CONFIG = """\
version: 1
environments:
  - {name: dev, path: 'apps/{app}/overlays/dev', mode: push}
  - name: production
    path: 'apps/{app}/overlays/production'
    from: dev
    freeze:
      - {name: weekend, schedule: "0 16 * * FRI", duration: 64h, timezone: Europe/Berlin}
apps:
  api: {image: ghcr.io/acme/api}
"""


def test_every_step_runs_once_in_another_thread_and_wait_returns_after() -> None:
    seen: list[tuple[str, str]] = []

    def step(name: str) -> None:
        seen.append((name, threading.current_thread().name))

    warming = warm.start((lambda: step("a"), lambda: step("b")))
    warming.wait()
    warming.wait()  # a second wait returns at once
    assert [name for name, _ in seen] == ["a", "b"]
    assert all(thread != threading.current_thread().name for _, thread in seen)


def test_a_failing_step_is_skipped_and_the_rest_still_run() -> None:
    seen: list[str] = []

    def boom() -> None:
        raise ImportError("no such module")

    warm.start((boom, lambda: seen.append("after"))).wait()
    assert seen == ["after"]


def test_no_thread_means_nothing_to_wait_for() -> None:
    warm.Warm(None).wait()


def test_the_default_steps_leave_the_config_read_unchanged() -> None:
    before = parse_config(CONFIG, "promotion.yaml")
    warm.start().wait()
    after = parse_config(CONFIG + "# read again (not from the cache)\n", "promotion.yaml")
    assert before == after
    assert before.env("production").freeze
