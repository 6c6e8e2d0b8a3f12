"""``mode: pull-request`` delivery: a stable branch per target (one commit on the base
branch, force-pushed with lease), one pull request created or updated, its labels,
reviewers and auto-merge; a branch or PR that is not the tool's own is refused."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace

from gitops_promote.adapters.git import Repo
from gitops_promote.adapters.github import GitHub, PullInfo, foreign_pull
from gitops_promote.adapters.workspace import Workspace
from gitops_promote.apply import overlays
from gitops_promote.config import templates
from gitops_promote.config.model import Config, Environment
from gitops_promote.deliver.choice import Choice, Job
from gitops_promote.errors import InputError, UserError, quote
from gitops_promote.facts import pins, statefile
from gitops_promote.report import promotion as report
from gitops_promote.report.records import PromotionResult


def github_client(ws: Workspace) -> GitHub:
    if not ws.github_repo:
        raise InputError(
            "a pull-request environment needs the config repo on GitHub",
            hint="pass --config-repo OWNER/NAME (or --remote with a GitHub URL); "
            "--dry-run previews without GitHub",
        )
    if not ws.credentials.token:
        raise InputError(
            "a pull-request environment needs a GitHub token",
            hint="set GITOPS_PROMOTE_TOKEN or GITHUB_TOKEN (contents: write, "
            "pull-requests: write), or a GitHub App",
        )
    return GitHub(ws.github_repo, token=ws.credentials.token, api_url=ws.credentials.api_url)


def branch_for(config: Config, env: Environment, apps: Sequence[str]) -> str:
    template = env.pull_request.branch or config.settings.branch
    if len(apps) == 1:
        values = templates.template_values(env=env.name, app=apps[0], apps=apps)
    else:
        batch = "batch-" + hashlib.sha256(",".join(sorted(apps)).encode()).hexdigest()[:8]
        values = templates.template_values(env=env.name, app=batch, apps=[batch])
    values["from_env"] = env.upstream or ""
    return templates.render_branch(template, values)


def refuse_break_glass(config: Config, labels: Sequence[str]) -> None:
    """The break-glass label is a person's decision on the pull request: automation never
    applies it (nor passes its own freeze check with it)."""
    label = config.settings.freeze_exception_label
    if label and label.casefold() in {x.casefold() for x in labels}:
        raise InputError(
            f"--label {quote(label)} is the break-glass label: promote and soak never apply it",
            hint="drop it; a person adds it on the pull request when a freeze must be broken",
        )


def deliver_pull_request(job: Job, result: PromotionResult) -> PromotionResult:
    """Gated env: a stable branch per target, force-pushed with lease; one PR, updated."""
    gh = github_client(job.ws)
    try:
        return open_or_update(gh, job, result)
    finally:
        gh.close()


def open_or_update(gh: GitHub, job: Job, result: PromotionResult) -> PromotionResult:
    """The PR side of :func:`deliver_pull_request`, with its GitHub client."""
    req, ws, config, env, choices = job.req, job.ws, job.config, job.env, job.choices
    repo = ws.repo
    opts = env.pull_request
    branch = branch_for(config, env, [c.app.name for c in choices])
    result = replace(result, branch=branch)
    labels = tuple(dict.fromkeys((*opts.labels, *req.labels)))
    refuse_break_glass(config, labels)
    reviewers = tuple(dict.fromkeys((*opts.reviewers, *req.reviewers)))
    teams = tuple(dict.fromkeys((*opts.team_reviewers, *req.team_reviewers)))
    remote_sha = repo.remote_branch_sha(branch)
    existing = gh.find_open_pull(branch, result.base) if remote_sha else None
    wanted = report.parse_marker(report.marker(result))
    same = existing is not None and report.parse_marker(existing.body) == wanted
    if existing is not None and remote_sha is not None:
        require_own(gh, repo, config, result, choices, existing, branch, remote_sha, exact=same)
    if existing is not None and same:
        ensure_decorations(gh, existing.number, existing, labels, reviewers, teams)
        return replace(
            result,
            operation="unchanged",
            pr_number=existing.number,
            pr_url=existing.url,
            notes=("the same promotion is already proposed",),
        )
    base_tip = repo.head()
    repo.switch(branch, start=base_tip)
    try:
        for choice in choices:
            state = pins.read_state(ws.root, config, choice.app, env)
            if state.pin is None or state.pin.ref != choice.ref:
                pins.write(state, pins.edit(state, choice.ref))
        pinned = {(c.app, env.name): req.now for c in result.changes if c.changed}
        extra = statefile.refresh(repo, config, pinned)
        message = report.commit_message(result, config.settings, req.message)
        sha = repo.commit(sorted({c.file for c in result.changes} | set(extra)), message)
        repo.push_branch(branch, expected_remote_sha=remote_sha)
    finally:
        repo.switch(repo.base_branch, start=base_tip)
    title = report.pr_title(result, req.title or opts.title or config.settings.pr_title)
    body = report.pr_body(result)
    if existing is not None:
        gh.update_pull(existing.number, title=title, body=body)
        ensure_decorations(gh, existing.number, existing, labels, reviewers, teams)
        return replace(
            result,
            operation="pr-updated",
            commit=sha,
            pr_number=existing.number,
            pr_url=existing.url,
        )
    draft = opts.draft if req.draft is None else req.draft
    created = gh.create_pull(branch=branch, base=result.base, title=title, body=body, draft=draft)
    ensure_decorations(gh, created.number, created, labels, reviewers, teams)
    method = req.auto_merge or opts.auto_merge
    if method:
        gh.enable_auto_merge(created.node_id, method)
    return replace(
        result, operation="pr-created", commit=sha, pr_number=created.number, pr_url=created.url
    )


def require_own(
    gh: GitHub,
    repo: Repo,
    config: Config,
    result: PromotionResult,
    choices: Sequence[Choice],
    pull: PullInfo,
    branch: str,
    tip: str,
    *,
    exact: bool,
) -> None:
    """Refuse (exit 2, nothing touched) a PR this tool did not open, or whose branch holds
    anything but the tool's own commit: the identity check costs 1 API call per run."""
    me = gh.viewer()
    if pull.author != me:
        raise foreign_pull(pull, me, branch)
    why = branch_problem(repo, config, result, choices, tip, exact=exact)
    if why is not None:
        raise foreign_pull(pull, me, branch, why)


def branch_problem(
    repo: Repo,
    config: Config,
    result: PromotionResult,
    choices: Sequence[Choice],
    tip: str,
    *,
    exact: bool,
) -> str | None:
    """Why commit ``tip`` of a promotion branch is not the tool's change (None: it is).

    The tool's commit has one parent on the base branch, the tool's author, its
    ``Promoted-Image`` trailers, and changes only the pinned files (plus the state file):
    each one exactly the editor's output from the parent's text, the pin included
    (``exact``: the pin is the one this run proposes)."""
    repo.fetch([tip])
    raw = repo.commit_text(tip)
    header, _, message = raw.partition("\n\n")
    fields = [line.split(" ", 1) for line in header.splitlines() if " " in line]
    parents = [v for k, v in fields if k == "parent"]
    author = next((v for k, v in fields if k == "author"), "")
    short = tip[:12]
    if len(parents) != 1 or not repo.is_ancestor(parents[0], repo.base_ref):
        return f"its tip {short} is not one commit on top of the base branch"
    me = repo.git.identity
    if f"<{me.email}>" not in author:
        return f"its tip {short} was not committed by {me.name} <{me.email}>"
    apps = {c.app.name: c.app for c in choices}
    trailers = sorted(line for line in message.splitlines() if line.startswith("Promoted-Image: "))
    if sorted(apps) != sorted({t.split(" ", 1)[1].split("=", 1)[0] for t in trailers}):
        return f"its tip {short} does not carry the tool's Promoted-Image trailers"
    files = {c.file: apps[c.app] for c in result.changes if c.app in apps}
    allowed = set(files) | set(statefile.paths(config) or ())
    extra = sorted(set(repo.changed_between(parents[0], tip)) - allowed)
    if extra:
        return f"its tip {short} changes {quote(extra[0])}, which the promotion does not"
    blobs = repo.read_blobs([(rev, f) for f in files for rev in (parents[0], tip)])
    wanted = {c.app.name: c.ref for c in choices}
    for file, app in files.items():
        before, after = blobs.get((parents[0], file)), blobs.get((tip, file))
        try:  # the branch's text is anyone's: unreadable is simply "not the tool's"
            pin = pins.read_pin_text(file, after.decode("utf-8"), app) if after else None
            if before is None or pin is None or (exact and pin.ref != wanted[app.name]):
                return f"its tip {short} does not pin {app.name} as proposed in {quote(file)}"
            text = overlays.set_pin(
                file, before.decode("utf-8"), pins.target(app), pins.set_image_arg(app, pin.ref)
            )
        except (UnicodeDecodeError, UserError):
            return f"its tip {short} does not pin {app.name} as the tool does in {quote(file)}"
        if text.encode("utf-8") != after:
            return f"its tip {short} changes more of {quote(file)} than the pin of {app.name}"
    return None


def ensure_decorations(
    gh: GitHub,
    number: int,
    pull: PullInfo,
    labels: Sequence[str],
    reviewers: Sequence[str],
    teams: Sequence[str],
) -> None:
    """Add the labels and review requests a PR lacks (a re-run heals a half-made PR)."""
    missing_labels = [label for label in labels if label not in pull.labels]
    gh.add_labels(number, missing_labels)
    missing_users = [r for r in reviewers if r not in pull.reviewers]
    missing_teams = [t for t in teams if t not in pull.team_reviewers]
    gh.request_reviewers(number, missing_users, missing_teams)
