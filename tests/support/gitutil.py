"""Generic git helpers for tests: build repos with controlled dates, authors and messages.

Every command runs with an isolated configuration (no system or global git config), so a
developer's ``~/.gitconfig`` cannot change what tests see.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_AUTHOR = ("Test Author", "author@example.test")
DEFAULT_DATE = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)

# Server-side settings every bare repo gets: pushes over HTTP, partial clones, lazy fetches.
BARE_REPO_CONFIG: tuple[tuple[str, str], ...] = (
    ("http.receivepack", "true"),
    ("uploadpack.allowFilter", "true"),
    ("uploadpack.allowAnySHA1InWant", "true"),
    ("uploadpack.allowReachableSHA1InWant", "true"),
    ("receive.advertisePushOptions", "true"),
)

FileContent = str | bytes | None  # None deletes the file


# While the CLI runs inside the test process (support.inprocess), os.environ is the CLI's;
# the test's own environment is kept here, for the git children of test helpers and of the
# servers' threads (the git server's http-backend must not inherit the CLI's PATH or HOME).
HOST_ENV: list[dict[str, str]] = []


def host_environ() -> Mapping[str, str]:
    """The test process's environment (not a CLI run's, while one runs in process)."""
    return HOST_ENV[0] if HOST_ENV else os.environ


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a git child: no system/global config, no prompts, fixed identity."""
    env = {k: v for k, v in host_environ().items() if not k.startswith("GIT_")}
    env.update(
        {
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "",
            "SSH_ASKPASS": "",
            "GIT_AUTHOR_NAME": DEFAULT_AUTHOR[0],
            "GIT_AUTHOR_EMAIL": DEFAULT_AUTHOR[1],
            "GIT_COMMITTER_NAME": DEFAULT_AUTHOR[0],
            "GIT_COMMITTER_EMAIL": DEFAULT_AUTHOR[1],
            "LC_ALL": "C",
        }
    )
    if extra:
        env.update(extra)
    return env


def git(
    *args: str,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
    check: bool = True,
) -> str:
    """Run ``git args...`` and return stdout (text, stripped of the final newline)."""
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=clean_env(env),
        input=input,
        capture_output=True,
        check=False,
    )
    if check and proc.returncode != 0:
        raise GitCommandError(list(args), proc.returncode, proc.stderr.decode(errors="replace"))
    return proc.stdout.decode(errors="replace").removesuffix("\n")


class GitCommandError(RuntimeError):
    """A git command in a test helper failed; carries argv (no secrets are passed in argv)."""

    def __init__(self, args: list[str], returncode: int, stderr: str) -> None:
        super().__init__(f"git {' '.join(args)} exited {returncode}: {stderr.strip()}")
        self.returncode = returncode
        self.stderr = stderr


def git_date(when: datetime | str) -> str:
    """A date git reads exactly: ``@<epoch> <+hhmm>`` for a datetime (naive means UTC)."""
    if isinstance(when, str):
        return when
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    offset = when.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"@{int(when.timestamp())} {sign}{minutes // 60:02d}{minutes % 60:02d}"


def identity_env(
    date: datetime | str = DEFAULT_DATE,
    author: tuple[str, str] = DEFAULT_AUTHOR,
    committer: tuple[str, str] | None = None,
    commit_date: datetime | str | None = None,
) -> dict[str, str]:
    """GIT_AUTHOR_*/GIT_COMMITTER_* for one commit (committer defaults to the author)."""
    committer = committer or author
    return {
        "GIT_AUTHOR_NAME": author[0],
        "GIT_AUTHOR_EMAIL": author[1],
        "GIT_AUTHOR_DATE": git_date(date),
        "GIT_COMMITTER_NAME": committer[0],
        "GIT_COMMITTER_EMAIL": committer[1],
        "GIT_COMMITTER_DATE": git_date(commit_date if commit_date is not None else date),
    }


def init_repo(path: Path, branch: str = "main") -> Path:
    """A new non-bare repository at ``path`` whose first branch is ``branch``."""
    path.mkdir(parents=True, exist_ok=True)
    git("init", "-q", "-b", branch, str(path))
    return path


def init_bare(path: Path, branch: str = "main") -> Path:
    """A new bare repository configured for HTTP push, partial clone and lazy fetch."""
    path.mkdir(parents=True, exist_ok=True)
    git("init", "-q", "--bare", "-b", branch, str(path))
    for key, value in BARE_REPO_CONFIG:
        git("config", key, value, cwd=path)
    return path


def write_files(root: Path, files: Mapping[str, FileContent]) -> None:
    """Write (or delete, for ``None``) files relative to ``root``, creating directories."""
    for rel, content in files.items():
        target = root / rel
        if content is None:
            if target.exists():
                target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")


def commit_files(
    worktree: Path,
    files: Mapping[str, FileContent],
    *,
    message: str = "test commit",
    date: datetime | str = DEFAULT_DATE,
    author: tuple[str, str] = DEFAULT_AUTHOR,
    committer: tuple[str, str] | None = None,
    commit_date: datetime | str | None = None,
    allow_empty: bool = False,
) -> str:
    """Write ``files`` into a non-bare ``worktree``, commit them all, return the commit sha."""
    write_files(worktree, files)
    git("add", "-A", cwd=worktree)
    extra = ["--allow-empty"] if allow_empty else []
    git(
        "commit",
        "-q",
        "--no-verify",
        "-m",
        message,
        *extra,
        cwd=worktree,
        env=identity_env(date, author, committer, commit_date),
    )
    return rev_parse(worktree, "HEAD")


def commit_tree_to_bare(
    bare: Path,
    tree: Path | Mapping[str, FileContent],
    *,
    branch: str = "main",
    message: str = "test commit",
    date: datetime | str = DEFAULT_DATE,
    author: tuple[str, str] = DEFAULT_AUTHOR,
    committer: tuple[str, str] | None = None,
    commit_date: datetime | str | None = None,
    replace: bool = False,
) -> str:
    """Commit a tree straight into a bare repo's ``branch`` (no clone, no push); return sha.

    ``tree`` is a directory whose whole content becomes the commit, or a mapping of files to
    change on top of the branch's current tree (``None`` deletes). With ``replace=True`` a
    mapping is the whole tree. The branch is created if it does not exist.
    """
    ref = f"refs/heads/{branch}"
    parent = git("rev-parse", "-q", "--verify", f"{ref}^{{commit}}", cwd=bare, check=False)
    with tempfile.TemporaryDirectory(prefix="gitutil-") as tmp:
        work = Path(tmp) / "work"
        index = Path(tmp) / "index"
        if isinstance(tree, Path):
            shutil.copytree(tree, work, symlinks=True)
        else:
            work.mkdir()
            if parent and not replace:
                env_read = {"GIT_INDEX_FILE": str(index), "GIT_WORK_TREE": str(work)}
                git("--git-dir", str(bare), "read-tree", parent, env=env_read)
                git("--git-dir", str(bare), "checkout-index", "-a", env=env_read)
            write_files(work, tree)
        env = {"GIT_INDEX_FILE": str(index), "GIT_WORK_TREE": str(work)}
        if index.exists():
            index.unlink()
        git("--git-dir", str(bare), "add", "-A", ".", cwd=work, env=env)
        tree_sha = git("--git-dir", str(bare), "write-tree", env=env)
    parent_args = ["-p", parent] if parent else []
    sha = git(
        "commit-tree",
        tree_sha,
        *parent_args,
        "-m",
        message,
        cwd=bare,
        env=identity_env(date, author, committer, commit_date),
    )
    git("update-ref", ref, sha, *([parent] if parent else []), cwd=bare)
    return sha


def rev_parse(repo: Path, ref: str) -> str:
    """The full sha ``ref`` points at (a commit), in a bare or non-bare repo."""
    return git("rev-parse", "--verify", f"{ref}^{{commit}}", cwd=repo)


def ref_exists(repo: Path, ref: str) -> bool:
    """Whether ``ref`` (e.g. ``refs/heads/main`` or ``main``) resolves to a commit."""
    return bool(git("rev-parse", "-q", "--verify", f"{ref}^{{commit}}", cwd=repo, check=False))


def read_file(repo: Path, ref: str, path: str) -> bytes:
    """The bytes of ``path`` at ``ref`` (raises GitCommandError if it does not exist)."""
    proc = subprocess.run(
        ["git", "cat-file", "blob", f"{ref}:{path}"],
        cwd=repo,
        env=clean_env(),
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        raise GitCommandError(
            ["cat-file", "blob", f"{ref}:{path}"], proc.returncode, proc.stderr.decode()
        )
    return proc.stdout


@dataclass(frozen=True)
class CommitInfo:
    """One commit as tests need it."""

    sha: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    author_date: datetime
    committer_name: str
    committer_email: str
    committer_date: datetime
    subject: str
    body: str

    @property
    def message(self) -> str:
        return f"{self.subject}\n\n{self.body}" if self.body else self.subject


_FIELDS = "%H%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%cn%x1f%ce%x1f%cI%x1f%s%x1f%b%x1e"


def list_commits(repo: Path, ref: str = "HEAD", *, extra: Sequence[str] = ()) -> list[CommitInfo]:
    """Commits reachable from ``ref``, newest first (``extra`` adds rev-list options/paths)."""
    out = git("log", f"--format={_FIELDS}", ref, *extra, cwd=repo)
    commits = []
    for raw in out.split("\x1e"):
        record = raw.strip("\n")
        if not record:
            continue
        (sha, parents, an, ae, ad, cn, ce, cd, subject, body) = record.split("\x1f")
        commits.append(
            CommitInfo(
                sha=sha,
                parents=tuple(parents.split()),
                author_name=an,
                author_email=ae,
                author_date=datetime.fromisoformat(ad),
                committer_name=cn,
                committer_email=ce,
                committer_date=datetime.fromisoformat(cd),
                subject=subject,
                body=body.strip("\n"),
            )
        )
    return commits


def is_ancestor(repo: Path, ancestor: str, descendant: str) -> bool:
    """Whether ``ancestor`` is reachable from ``descendant``."""
    proc = subprocess.run(
        ["git", "merge-base", "--is-ancestor", ancestor, descendant],
        cwd=repo,
        env=clean_env(),
        capture_output=True,
        check=False,
    )
    return proc.returncode == 0
