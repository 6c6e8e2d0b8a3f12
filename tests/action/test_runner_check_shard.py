"""``command: check`` with ``shard: K/N`` and ``output``, then ``combine``, through
action.yml the way a runner runs it (the matrix jobs, then the fan-in job): each shard
writes its JSON verdict to ``output``; ``combine`` merges them and its exit code is the
verdict; a missing shard fails the fan-in with exit 2."""

from __future__ import annotations

import json

from action.conftest import ActionHarness
from action.test_runner_contract import CONFIG, WEDNESDAY, assert_no_leak


def test_two_shards_then_the_fan_in(action: ActionHarness) -> None:
    verdicts = action.tmp_path / "verdicts"
    verdicts.mkdir()
    for k in (1, 2):
        run = action.run(
            {
                "command": "check",
                "config-repo": CONFIG,
                "token": action.token,
                "now": WEDNESDAY,
                "shard": f"{k}/2",
                "output": str(verdicts / f"shard-{k}.json"),
            }
        )
        assert run.exit_code == 0, run.stderr
        doc = json.loads((verdicts / f"shard-{k}.json").read_text())
        assert doc["shard"]["index"] == k
        assert doc["shard"]["count"] == 2
        assert_no_leak(run, action.token)
    fan_in = action.run({"command": "check", "combine": str(verdicts)})
    assert fan_in.exit_code == 0, fan_in.stderr
    assert "check passed" in fan_in.stdout
    assert fan_in.outputs["passed"] == "true"
    (verdicts / "shard-2.json").unlink()
    missing = action.run({"command": "check", "combine": str(verdicts)})
    assert missing.exit_code == 2
    [error] = missing.annotations
    assert "shard(s) 2 of 2 missing" in error.message
    assert "Traceback" not in missing.stderr
