"""``command: soak`` with ``shard: K/N`` through action.yml, run the way a runner runs a
composite action (a matrix job's step): the input becomes ``--shard K/N`` (shown in the
log), the run reports only the targets of that shard's apps; a bad value fails the step
with exit 2 before the config repo is cloned."""

from __future__ import annotations

import json

from action.conftest import ActionHarness
from action.test_runner_contract import CONFIG, WEDNESDAY, assert_no_leak
from gitops_promote.config.load import load_config
from gitops_promote.plan import shard as sharding
from gitops_promote.plan import soak as soakplan
from support.repos import EXAMPLE


def soak(action: ActionHarness, shard: str) -> dict[str, str]:
    return {
        "command": "soak",
        "config-repo": CONFIG,
        "token": action.token,
        "dry-run": "true",
        "now": WEDNESDAY,
        "shard": shard,
    }


def test_each_matrix_job_reports_only_its_shards_targets(action: ActionHarness) -> None:
    config = load_config(EXAMPLE)
    everything = {(a.name, e.name) for a, e in soakplan.eligible(config)}
    seen: set[tuple[str, str]] = set()
    for k in (1, 2):
        run = action.run(soak(action, f"{k}/2"))
        assert run.exit_code == 0, run.stderr
        shown = [line for line in run.log.lines if line.startswith("gitops-promote soak")]
        assert shown == [
            f"gitops-promote soak --dry-run --now 2026-11-25T10:00:00+00:00 --shard {k}/2 "
            f"--config-repo {CONFIG} --config promotion.yaml"
        ]
        mine = sharding.owned(config, sharding.Shard(k, 2))
        targets = {(t["app"], t["env"]) for t in json.loads(run.outputs["results"])}
        assert targets == {(a, e) for a, e in everything if a in mine}
        assert f"shard {k}/2: {len(targets)} targets" in run.stdout
        assert f"Shard {k}/2: {len(targets)} targets." in run.summary
        assert not seen & targets
        seen |= targets
        assert_no_leak(run, action.token)
    assert seen == everything


def test_a_bad_shard_input_is_refused_before_any_work(action: ActionHarness) -> None:
    before = len(action.platform.git.requests)
    run = action.run(soak(action, "5/4"))
    assert run.exit_code == 2
    [error] = run.annotations
    assert "--shard '5/4': K must be from 1 to N (4)" in error.message
    assert "Traceback" not in run.stderr
    assert len(action.platform.git.requests) == before
    assert_no_leak(run, action.token)
