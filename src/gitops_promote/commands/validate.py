"""``gitops-promote validate``: promotion.yaml is valid, and every app's overlay in every
environment exists and carries the app's image. Every problem is listed, not just the first."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import TYPE_CHECKING

from gitops_promote.commands import common

if TYPE_CHECKING:
    from gitops_promote.config import Config
    from gitops_promote.errors import Problem
    from gitops_promote.facts import Key
    from gitops_promote.gitrepo import Repo
    from gitops_promote.images import ImageRef


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the problems as JSON")
    parser.add_argument(
        "--write-state",
        action="store_true",
        help="rewrite settings.state-file and VERSIONS.md from the overlays (then commit them)",
    )
    common.add_location_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from gitops_promote import pins  # noqa: PLC0415 - lazy: keep start-up fast
    from gitops_promote import state as statefile  # noqa: PLC0415
    from gitops_promote.configload import load_config  # noqa: PLC0415
    from gitops_promote.errors import ConfigError, Problem, UserError  # noqa: PLC0415
    from gitops_promote.workspace import open_workspace  # noqa: PLC0415

    loc = common.location(args)
    problems: list[Problem] = []
    checked = 0
    with open_workspace(loc, common.credentials(args), require_clean=False) as ws:
        config = load_config(ws.root, loc.config_path)
        targets = [(a, e) for a in config.apps for e in config.envs_of(a)]
        ws.repo.add_sparse([config.overlay_path(a, e) for a, e in targets])
        for app, env in targets:
            checked += 1
            try:
                state = pins.read_state(ws.root, config, app, env)
                state.require_pin()
            except UserError as err:
                problems.append(Problem(config.overlay_path(app, env), None, str(err)))
                continue
            if state.pin is None:
                problems.append(
                    Problem(
                        state.file,
                        None,
                        f"does not pin {app.name}'s image {app.image} "
                        f"(add an images: entry named {app.kustomize_name}, or a setter marker)",
                    )
                )
        written: list[str] = []
        if args.write_state:
            written = statefile.refresh(ws.repo, config, full=True)
            if not written:
                raise UserError(
                    "--write-state: promotion.yaml sets no settings.state-file",
                    hint="add settings: {state-file: versions.json}",
                )
        problems += _built_into_gated(ws.repo, config)
        json_text, md_text = statefile.read_texts(ws.repo, config)
        pinned = statefile.read_pins(ws.repo, config)
        problems += statefile.check(config, json_text, md_text, pinned)
        problems += _check_since(ws.repo, config, json_text, pinned)
    if args.json:
        common.emit_json(
            {
                "valid": not problems,
                "checked": checked,
                "problems": [
                    {"file": p.file, "line": p.line, "message": p.message} for p in problems
                ],
            }
        )
        return 2 if problems else 0
    if problems:
        raise ConfigError(problems)
    for path in written:
        common.emit(f"wrote {path}")
    common.emit(f"{config.file}: valid; {checked} overlays carry their app's image")
    return 0


def _check_since(
    repo: Repo,
    config: Config,
    json_text: str | None,
    pinned: Mapping[Key, ImageRef | None],
) -> list[Problem]:
    """The state file's since and commit against a whole-history pass: status, soak and
    check trust them (see gitops_promote.statesince), so a wrong one is a problem."""
    from gitops_promote import facts  # noqa: PLC0415
    from gitops_promote import state as statefile  # noqa: PLC0415

    if json_text is None:
        return []
    try:
        entries = statefile.parse(json_text)
    except statefile.StateFileError:
        return []  # check() reported it
    wanted = {(e.app, e.env) for e in entries if e.commit is not None}
    targets = [(a, e) for a in config.apps for e in config.envs_of(a) if (a.name, e.name) in wanted]
    lines = facts.timelines(repo, config, targets, lazy=True)  # used right here
    return statefile.check_since(config, entries, pinned, lines)


def _built_into_gated(repo: Repo, config: Config) -> list[Problem]:
    """Files of a push environment's overlay that a gated environment's overlay is built
    from (its kustomization references them, directly or through others): a push to the
    one would change what the other deploys."""
    from gitops_promote import pins  # noqa: PLC0415
    from gitops_promote.errors import Problem  # noqa: PLC0415

    targets = [(a, e) for a in config.apps for e in config.envs_of(a)]
    inputs = pins.gated_inputs(repo, config, [(a, e) for a, e in targets if e.gated])
    if not inputs:
        return []
    pushed = pins.owners(config, [(a, e) for a, e in targets if not e.gated], inputs)
    problems: list[Problem] = []
    for file in sorted(pushed):
        owner, push_env = pushed[file]
        user, gated_env, root = inputs[file]
        problems.append(
            Problem(
                file,
                None,
                f"belongs to the overlay of {owner} in {push_env} (mode: push), and "
                f"{user}'s overlay in {gated_env} ({root}) is built from it: a push to "
                f"{push_env} would change what {gated_env} deploys; give {gated_env} its "
                "own copy or move what both use to a base no push environment owns",
            )
        )
    return problems
