"""The shard split (:mod:`gitops_promote.plan.shard`): deterministic, complete and
disjoint for any N; apps that depend on each other (transitively, either way) in one
shard; ``--shard`` values parsed strictly (one-line error, exit 2)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitops_promote.config.load import parse_config
from gitops_promote.errors import InputError
from gitops_promote.plan import shard as sharding
from support.repos import child_env

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)


@st.composite
def graphs(draw: st.DrawFn) -> tuple[list[str], dict[str, list[str]]]:
    """App names and a dependency graph over them (cycles, self-edges and names of
    unknown apps included: the split must not care)."""
    apps = draw(st.lists(names, min_size=0, max_size=40, unique=True))
    pool = [*apps, "not-an-app"]
    deps = {a: draw(st.lists(st.sampled_from(pool), max_size=3)) for a in apps}
    return apps, deps


def _components(apps: list[str], deps: Mapping[str, list[str]]) -> list[set[str]]:
    """Connected components by plain graph search (the reference the split is held to)."""
    known = set(apps)
    edges: dict[str, set[str]] = {a: set() for a in apps}
    for a, ds in deps.items():
        for d in ds:
            if d in known:
                edges[a].add(d)
                edges[d].add(a)
    seen: set[str] = set()
    out: list[set[str]] = []
    for a in apps:
        if a in seen:
            continue
        todo, comp = [a], set()
        while todo:
            n = todo.pop()
            if n in comp:
                continue
            comp.add(n)
            todo.extend(edges[n] - comp)
        seen |= comp
        out.append(comp)
    return out


@settings(max_examples=200, deadline=None)
@given(graphs(), st.integers(min_value=1, max_value=12))
def test_every_app_is_in_exactly_one_shard_with_its_whole_component(
    graph: tuple[list[str], dict[str, list[str]]], count: int
) -> None:
    apps, deps = graph
    where = sharding.split(apps, deps, count)
    assert set(where) == set(apps)  # complete; a dict: disjoint
    assert all(1 <= k <= count for k in where.values())
    for comp in _components(apps, deps):
        assert len({where[a] for a in comp}) == 1, comp
        key = min(comp)
        assert all(sharding.groups(apps, deps)[a] == key for a in comp)
        assert where[key] == sharding.bucket(key, count)


@settings(max_examples=100, deadline=None)
@given(graphs(), st.integers(min_value=1, max_value=12))
def test_the_split_does_not_depend_on_the_order_apps_are_listed_in(
    graph: tuple[list[str], dict[str, list[str]]], count: int
) -> None:
    apps, deps = graph
    assert sharding.split(list(reversed(apps)), deps, count) == sharding.split(apps, deps, count)


def test_the_bucket_is_sha256_of_the_key_so_every_process_agrees() -> None:
    """Not Python's salted hash(): another interpreter (another PYTHONHASHSEED) agrees,
    and the value is the documented one."""
    key = "api-service"
    expected = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % 4 + 1
    assert sharding.bucket(key, 4) == expected
    code = "from gitops_promote.plan.shard import bucket; print(bucket('api-service', 4))"
    env = child_env(None, {"PYTHONHASHSEED": "12345"})  # the package as this run finds it
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == str(expected)


def test_the_shards_spread_a_fleet_of_independent_apps() -> None:
    apps = [f"app-{i:04d}" for i in range(1000)]
    where = sharding.split(apps, {}, 4)
    sizes = [sum(1 for k in where.values() if k == i) for i in range(1, 5)]
    assert all(200 < s < 300 for s in sizes), sizes


def test_owned_reads_apps_and_depends_on_from_the_config() -> None:
    config = parse_config(
        """\
version: 1
environments:
  - {name: dev, path: "apps/{app}/dev", mode: push}
apps:
  api: {image: ghcr.io/o/api}
  worker: {image: ghcr.io/o/worker, depends-on: [api]}
  cron: {image: ghcr.io/o/cron, depends-on: [worker]}
  web: {image: ghcr.io/o/web}
"""
    )
    shards = [sharding.owned(config, sharding.Shard(k, 3)) for k in (1, 2, 3)]
    assert sorted(a for s in shards for a in s) == ["api", "cron", "web", "worker"]
    (together,) = [s for s in shards if "api" in s]
    assert {"api", "worker", "cron"} <= together
    assert sharding.owned(config, sharding.Shard(1, 1)) == {"api", "cron", "web", "worker"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1/1", (1, 1)), ("2/4", (2, 4)), (" 4/4 ", (4, 4)), ("7/1000", (7, 1000))],
)
def test_good_shard_values(text: str, expected: tuple[int, int]) -> None:
    shard = sharding.parse(text)
    assert (shard.index, shard.count) == expected
    assert str(shard) == f"{expected[0]}/{expected[1]}"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0/4",
        "5/4",
        "1/0",
        "0/0",
        "-1/4",
        "1/-4",
        "2",
        "2/",
        "/4",
        "a/b",
        "1/2/3",
        "1.0/2",
        "1/1001",
        "1/4\n::error::x",
        "../4",
        "1/4 # c",
        "9" * 300 + "/4",
        "\uff11/\uff14",
    ],
)
def test_bad_shard_values_are_one_line_input_errors(text: str) -> None:
    with pytest.raises(InputError) as err:
        sharding.parse(text)
    message = str(err.value)
    assert "\n" not in message
    assert len(message) < 300
