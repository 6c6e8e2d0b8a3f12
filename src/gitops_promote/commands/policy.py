"""``gitops-promote policy``: the repo's Rego policies, outside the check.

- ``policy test [PATH...]``: runs the policies' unit tests (``test_*`` rules, as ``opa
  test`` does) and prints each PASS or FAIL; exit 1 when one fails or a policy cannot be
  evaluated, 2 on bad input (a policy path that is missing, leaves the repo or holds a
  file that is not UTF-8; no test at all).
- ``policy eval --env E --app A``: renders the app's kustomize overlay in E (hermetic,
  offline: :mod:`gitops_promote.adapters.kustomize`) and prints what the policies say about
  each rendered document; exit 1 when a ``deny``/``violation`` fires or a policy cannot be
  evaluated.

The paths: the arguments, else those promotion.yaml names (:func:`configured_dirs`), else
``policy/``. Loading rules: :mod:`gitops_promote.facts.policies`; evaluation:
:mod:`gitops_promote.adapters.rego`; docs/policies.md.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from gitops_promote.adapters import escape, rego
from gitops_promote.adapters import kustomize as render
from gitops_promote.adapters.files import KUSTOMIZATION_NAMES
from gitops_promote.commands import common
from gitops_promote.errors import InputError, OverlayError
from gitops_promote.facts import policies, policycheck, tree
from gitops_promote.facts.changes import overlay_root
from gitops_promote.facts.merged import ls_tree
from gitops_promote.facts.renders import renders
from gitops_promote.report import policy as view

if TYPE_CHECKING:
    from gitops_promote.adapters.workspace import Workspace
    from gitops_promote.config.model import App, Config, Environment


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="policy_command", metavar="SUBCOMMAND", required=True)
    test = sub.add_parser(
        "test",
        help="run the policies' unit tests (test_* rules), like 'opa test'",
        description="Run the policies' unit tests (test_* rules) and print PASS or FAIL "
        "for each; exit 1 when one fails.",
    )
    test.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="policy directories or .rego files, relative to the repo (default: the "
        "policies: of promotion.yaml, else policy/)",
    )
    test.add_argument("--timeout", type=float, default=30.0, help=argparse.SUPPRESS)
    common.add_format_arguments(test, ["text", "json"])
    common.add_location_arguments(test)
    ev = sub.add_parser(
        "eval",
        help="what the policies say about an app's rendered overlay in one environment",
        description="Render an app's kustomize overlay in one environment and print what "
        "the policies say about each rendered document; exit 1 when one fails.",
    )
    ev.add_argument("--env", required=True, metavar="ENV", help="the environment")
    ev.add_argument("--app", required=True, metavar="APP", help="the app")
    ev.add_argument(
        "--policy",
        action="append",
        metavar="PATH",
        help="a policy directory or .rego file (repeatable; default: the policies: of "
        "promotion.yaml, else policy/)",
    )
    ev.add_argument(
        "--namespace",
        action="append",
        metavar="PACKAGE",
        help="a Rego package whose rules are evaluated (repeatable; default: policies: "
        "namespaces, else main)",
    )
    ev.add_argument(
        "--all-namespaces", action="store_true", help="evaluate the rules of every package"
    )
    ev.add_argument(
        "--combine",
        action="store_true",
        help="one input: the list of all rendered documents (default: each document alone)",
    )
    ev.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="time limit of one evaluation (default: policies: timeout, else 10)",
    )
    common.add_format_arguments(ev, ["text", "json"])
    common.add_location_arguments(ev)


# -- where the policies are -------------------------------------------------------------------


def configured_dirs(
    config: Config | None, app: App | None = None, env: Environment | None = None
) -> list[str]:
    """The policy paths promotion.yaml's ``policies:`` names for ``app`` in ``env`` (the
    global ones, the env's, the app's; every one of them when neither is given), else
    ``policy/``."""
    if config is None:
        return [policies.DEFAULT_DIR]
    envs = [env] if env is not None else list(config.environments)
    apps = [app] if app is not None else list(config.apps)
    names = [*config.policies.dirs, *(d for e in envs for d in e.policies)]
    names += [d for a in apps for d in a.policies]
    normal = (str(PurePosixPath(n)) if n.strip("/") else n for n in names)
    return list(dict.fromkeys(normal)) or [policies.DEFAULT_DIR]


@dataclass(frozen=True)
class EvalOptions:
    """How ``policy eval`` evaluates: the command line, else promotion.yaml's
    ``policies:`` options, else Conftest's defaults."""

    namespaces: tuple[str, ...] = ("main",)
    all_namespaces: bool = False
    combine: bool = False
    timeout: float = 10.0


def eval_options(config: Config | None, args: argparse.Namespace) -> EvalOptions:
    found = config.policies if config is not None else None
    base = EvalOptions()
    return EvalOptions(
        namespaces=tuple(args.namespace or (found.namespaces if found else base.namespaces)),
        all_namespaces=args.all_namespaces or bool(found and found.all_namespaces),
        combine=args.combine or bool(found and found.combine),
        timeout=args.timeout
        if args.timeout is not None
        else (found.timeout.total_seconds() if found else base.timeout),
    )


def _files_of(ws: Workspace) -> policies.PolicyFiles:
    """The work tree of a checkout; a sparse clone's HEAD commit (one ``ls-tree``, one
    blob batch: the policy files need not be checked out)."""
    if ws.repo.sparse:
        return policies.at_commit(ws.repo, "HEAD")
    return policies.WorkFiles(ws.root)


def _as_the_check_reads(
    files: policies.PolicyFiles, config: Config, app: App, env: Environment
) -> policies.PolicyFiles:
    """The policy tree as the check reads it for ``app`` in ``env``: a directory
    promotion.yaml gives another environment or app is left out of a global one that
    holds it (``policies: [policy/]`` with production's ``[policy/production/]``): the
    check's own rule (:func:`gitops_promote.facts.policycheck.hidden_dirs`)."""
    hidden = policycheck.hidden_dirs(config, app, env)
    return policycheck.Without(files, hidden) if hidden else files


def _loaded(files: policies.PolicyFiles, dirs: Sequence[str]) -> policies.PolicySet:
    found = policies.load(files, dirs)
    if found.problems:
        raise InputError("\n".join(found.problems), hint="fix the policy paths or files")
    return found


def _shown_dirs(dirs: Sequence[str]) -> str:
    return ", ".join(escape.log(d) for d in dirs)


# -- policy test --------------------------------------------------------------------------------


def _test(args: argparse.Namespace) -> int:
    if args.paths and not (args.remote or args.config_repo):  # no promotion.yaml needed
        dirs = list(args.paths)
        root = Path(common.path_argument("--repo", args.repo) or ".")
        found = _loaded(policies.WorkFiles(root), dirs)
    else:
        loc = common.location(args)
        with common.open_config(loc, common.credentials(args), commits=False) as (ws, config):
            dirs = list(args.paths) or configured_dirs(config)
            found = _loaded(_files_of(ws), dirs)
    if not found.tests:
        raise InputError(
            f"no *_test.rego file in {_shown_dirs(dirs)}",
            hint="write test_* rules in files named *_test.rego beside the policies",
        )
    results, errors = rego.run_tests(
        [*found.modules, *found.tests], found.data, timeout=args.timeout
    )
    if not results and not errors:
        raise InputError(
            f"no test_* rule in the *_test.rego files of {_shown_dirs(dirs)}",
            hint="a test is a rule named test_..., e.g. test_denies_latest if { ... }",
        )
    if args.json or args.format == "json":
        common.emit_json(view.unit_test_json(results, errors))
    else:
        common.emit("\n".join(view.unit_test_lines(results, errors)))
    return 1 if errors or any(not r.passed for r in results) else 0


# -- policy eval --------------------------------------------------------------------------------


def _rendered(ws: Workspace, directory: str) -> tuple[Mapping[str, Any], ...]:
    """The manifests the overlay directory renders to (hermetic, offline)."""
    renderer = render.find_renderer()
    if renderer is None:
        raise InputError(
            "neither kustomize nor kubectl is installed: policy eval renders the overlay",
            hint="install one (the gitops-promote container image has both)",
        )
    if ws.repo.sparse:
        fact = renders(ws.repo, ls_tree(ws.repo, "HEAD"), [directory], renderer)[directory]
        objects, error = fact.objects, fact.error
    else:
        done = render.render(renderer, ws.root, directory)
        objects, error = done.objects, done.error
    if error is not None:
        raise OverlayError(
            f"overlay {escape.log(directory)} does not render: {escape.log(error)}",
            hint="'gitops-promote validate' checks the overlays",
        )
    return objects


def _overlay_dir(ws: Workspace, config: Config, app: App, env: Environment) -> str:
    directory = overlay_root(config, app, env) or "."
    view_ = tree.WorkTree(ws.root)
    names = [n if directory == "." else f"{directory}/{n}" for n in KUSTOMIZATION_NAMES]
    if not ws.repo.sparse and not any(view_.kind(n) == "file" for n in names):
        raise InputError(
            f"the overlay of {app.name} in {env.name} ({escape.log(directory)}) is not a "
            "kustomize directory",
            hint="policy eval renders kustomize overlays (a kustomization.yaml directory)",
        )
    return directory


def _eval(args: argparse.Namespace) -> int:
    loc = common.location(args)
    with common.open_config(loc, common.credentials(args)) as (ws, config):
        env = common.pick_env(config, args.env)
        app = common.pick_apps(config, [args.app], env)[0]
        directory = _overlay_dir(ws, config, app, env)
        dirs = list(args.policy or ()) or configured_dirs(config, app, env)
        files = _files_of(ws)
        if not args.policy:
            files = _as_the_check_reads(files, config, app, env)
        found = _loaded(files, dirs)
        objects = _rendered(ws, directory)
    if not found.modules:
        raise InputError(
            f"no policy (*.rego file, tests aside) in {_shown_dirs(dirs)}",
            hint="write deny/violation/warn rules in package main, e.g. policy/deny.rego",
        )
    options = eval_options(config, args)
    outcome = rego.evaluate(
        found.modules,
        found.data,
        [dict(o) for o in objects],
        namespaces=options.namespaces,
        all_namespaces=options.all_namespaces,
        combine=options.combine,
        timeout=options.timeout,
    )
    result = view.Evaluation(
        env=env.name,
        app=app.name,
        overlay=directory,
        documents=tuple(view.document_of(o) for o in objects),
        outcome=outcome,
        policy_files=tuple(m.path for m in found.modules),
        combine=options.combine,
    )
    if args.json or args.format == "json":
        common.emit_json(view.eval_json(result))
    else:
        common.emit("\n".join(view.eval_lines(result)))
    return 1 if result.failed else 0


def run(args: argparse.Namespace) -> int:
    if args.policy_command == "test":
        return _test(args)
    return _eval(args)


__all__ = ["EvalOptions", "add_arguments", "configured_dirs", "eval_options", "run"]
