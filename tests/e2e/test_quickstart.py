"""``examples/quickstart.sh`` as a newcomer runs it: it succeeds, and the commands it
prints (``$ command``) are exactly the commands it runs, argument for argument, in order.

The script runs in a copy of the repository layout whose ``.venv/bin/gitops-promote`` is
a shim (so nothing is installed); ``git``, ``cp`` and ``gitops-promote`` are shims on
PATH that log their argv, working directory, parent process and ``GIT_*_DATE``
environment, then run the real program. The commands the script ran itself are the logged
ones whose parent is the script's shell; a printed ``cd DIR`` (a shell builtin) is checked
by the working directory of the commands after it.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

from support import gitutil

REPO = Path(__file__).resolve().parents[2]
SHIMMED = ("git", "cp", "gitops-promote")
BUILTINS = ("cd",)

SHIM = """\
#!{python}
import json, os, sys
entry = {{
    "argv": [os.path.basename(sys.argv[0]), *sys.argv[1:]],
    "ppid": os.getppid(),
    "cwd": os.getcwd(),
    "env": {{k: v for k, v in os.environ.items() if k.startswith("GIT_") and k.endswith("_DATE")}},
}}
with open(os.environ["QUICKSTART_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps(entry) + "\\n")
os.execv({target!r}, [{target!r}, *{prefix!r}, *sys.argv[1:]])
"""


def shim(path: Path, target: str, prefix: tuple[str, ...] = ()) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SHIM.format(python=sys.executable, target=target, prefix=list(prefix)))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def printed_commands(stdout: str) -> list[dict[str, Any]]:
    """Each ``$ `` line as {"argv", "env"}: a leading ``env NAME=VALUE...`` becomes env."""
    out = []
    for line in stdout.splitlines():
        if not line.startswith("$ "):
            continue
        words = shlex.split(line[2:])
        env: dict[str, str] = {}
        if words[0] == "env":
            words = words[1:]
            while "=" in words[0]:
                name, _, value = words.pop(0).partition("=")
                env[name] = value
        out.append({"argv": words, "env": env})
    return out


def test_quickstart_prints_exactly_the_commands_it_runs(tmp_path: Path) -> None:
    """Every printed command ran, with the same arguments and dates, in the printed order;
    every git, cp and gitops-promote command the script ran itself was printed; the run
    promotes into dev, shows status and a staging dry run, and exits 0."""
    root = tmp_path / "checkout"
    shutil.copytree(REPO / "examples", root / "examples")
    shim(root / ".venv" / "bin" / "gitops-promote", sys.executable, ("-m", "gitops_promote"))
    shims = tmp_path / "shims"
    for name in ("git", "cp"):
        real = shutil.which(name)
        assert real is not None, name
        shim(shims / name, real)
    log = tmp_path / "commands.jsonl"
    env = gitutil.clean_env(
        {
            "HOME": str(tmp_path),
            "TMPDIR": str(tmp_path),
            "PATH": f"{shims}:{os.environ['PATH']}",
            "QUICKSTART_LOG": str(log),
        }
    )
    env = {k: v for k, v in env.items() if not k.startswith(("GITHUB_", "INPUT_", "GITOPS_"))}
    proc = subprocess.Popen(
        ["bash", str(root / "examples" / "quickstart.sh")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stdout + stderr

    everything = printed_commands(stdout)
    assert {command["argv"][0] for command in everything} <= {*SHIMMED, *BUILTINS}, everything
    logged = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    direct = [entry for entry in logged if entry["ppid"] == proc.pid]
    printed = [c for c in everything if c["argv"][0] not in BUILTINS]
    assert [c["argv"] for c in printed] == [e["argv"] for e in direct], (printed, direct)
    cwd = tmp_path.resolve()
    ran = iter(direct)
    for command in everything:
        if command["argv"][0] == "cd":
            cwd = (cwd / command["argv"][1]).resolve()
            continue
        entry = next(ran)
        assert Path(entry["cwd"]).resolve() == cwd, (command, entry)
        for name, value in command["env"].items():
            assert entry["env"].get(name) == value, (command, entry)
    assert any(c["argv"][0] == "cd" for c in everything)

    shown = [shlex.join(c["argv"][:4]) for c in printed if c["argv"][0] == "gitops-promote"]
    assert shown == [
        "gitops-promote promote --app api-service",
        "gitops-promote status",
        "gitops-promote promote --app api-service",
    ]
    assert "dev: pushed" in stdout
    assert "APP          ENV" in stdout
    assert "staging: dry run: nothing written" in stdout
    assert "Traceback" not in stdout + stderr
