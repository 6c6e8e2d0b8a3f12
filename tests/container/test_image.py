"""The container image: built with buildah from the Dockerfile, run without a Docker engine.

Docker Hub is out of reach here, so the base is a local Debian bookworm image made by
``build_base.sh`` (cached); the Dockerfile is built on it with ``--build-arg BASE_IMAGE``.
Containers run with buildah's chroot isolation (no OCI runtime needed) and the host's
network, so they reach the test git server on 127.0.0.1. The config repo is mounted at
``/github/workspace`` and owned by another uid, as on a GitHub runner.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitops_promote import __version__
from support import gitutil
from support.githttp import GitServer
from support.oci_registry import Registry
from support.tools import missing

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
BUILD_BASE = REPO / "tests" / "container" / "build_base.sh"
BASE_IMAGE = "localhost/gitops-promote-base:bookworm"
IMAGE = "localhost/gitops-promote:test"
WORKSPACE = "/github/workspace"
RUNNER_UID = 1001  # the uid that owns the workspace on a GitHub-hosted runner
BUILD_TIMEOUT = 20 * 60
RUN_TIMEOUT = 120

DIGEST = "sha256:" + "ab" * 32
OLD_DIGEST = "sha256:" + "cd" * 32


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("GITOPS_PROMOTE_CACHE", Path(base) / "gitops-promote"))


def _buildah_env() -> dict[str, str]:
    # chroot isolation needs no OCI runtime (runc/crun) and shares the host's network.
    return {**os.environ, "BUILDAH_ISOLATION": "chroot"}


def _storage_args() -> list[str]:
    """STORAGE_DRIVER=vfs (where overlay mounts fail) gets its own storage root: one root
    cannot hold two drivers. build_base.sh makes the same choice."""
    driver = os.environ.get("STORAGE_DRIVER")
    if not driver:
        return []
    return ["--storage-driver", driver, "--root", f"/var/lib/containers/storage-{driver}"]


def _buildah(*args: str, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["buildah", *_storage_args(), *args],
        env=_buildah_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def _require_tools() -> None:
    if os.geteuid() != 0:
        missing("root", "the container test runs debootstrap and buildah as root")
    for tool in ("buildah", "debootstrap", "tar"):
        if shutil.which(tool) is None:
            missing(tool, f"tests/run.sh installs it with apt-get ({tool})")


def _pip_secrets(secrets_dir: Path) -> list[str]:
    """``--secret`` arguments carrying this host's pip CA bundle and index (if any) into
    the build: mounted for one RUN at a time, never written to a layer or the history."""
    args: list[str] = []
    cert = os.environ.get("PIP_CERT") or _pip_config("global.cert")
    for candidate in (cert, os.environ.get("SSL_CERT_FILE"), "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            args += ["--secret", f"id=pip_cert,src={candidate}"]
            break
    index = os.environ.get("PIP_INDEX_URL") or _pip_config("global.index-url")
    if index and index.startswith(("http://", "https://")):
        path = secrets_dir / "pip-index-url"  # may carry credentials: a private temp dir
        path.write_text(index, encoding="utf-8")
        args += ["--secret", f"id=pip_index_url,src={path}"]
    return args


def _pip_config(key: str) -> str | None:
    proc = subprocess.run(
        ["python3", "-m", "pip", "config", "get", key],
        capture_output=True,
        text=True,
        check=False,
    )
    value = proc.stdout.strip()
    return value if proc.returncode == 0 and value else None


def _image_id(name: str) -> str | None:
    proc = _buildah("inspect", "--type", "image", "--format", "{{.FromImageID}}", name)
    if proc.returncode != 0:
        return None
    return proc.stdout.strip() or None


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _build(log: Path) -> str:
    """Build the base (cached) and the image (layers cached); return the image name."""
    base = subprocess.run(
        [str(BUILD_BASE), BASE_IMAGE],
        env=_buildah_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=BUILD_TIMEOUT,
    )
    if base.returncode != 0:
        pytest.fail(f"build_base.sh failed:\n{_tail(base.stderr)}", pytrace=False)
    previous = _image_id(IMAGE)
    with tempfile.TemporaryDirectory(prefix="gitops-promote-build-") as secrets_dir:
        proc = _build_image(Path(secrets_dir))
    log.write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0:
        pytest.fail(
            f"buildah build failed (full log: {log}; if the storage driver is the problem,"
            f" retry with STORAGE_DRIVER=vfs):\n{_tail(proc.stdout + proc.stderr)}",
            pytrace=False,
        )
    current = _image_id(IMAGE)
    if previous and previous != current:
        _buildah("rmi", previous)  # the superseded image; its cached layers stay
    return IMAGE


def _build_image(secrets_dir: Path) -> subprocess.CompletedProcess[str]:
    return _buildah(
        "build",
        "--layers",
        "--force-rm",  # no working containers left behind by a failed step
        "--format",
        "docker",  # keeps SHELL; the OCI format drops it
        "--network",
        "host",
        "--build-arg",
        f"BASE_IMAGE={BASE_IMAGE}",
        *_pip_secrets(secrets_dir),
        "--tag",
        IMAGE,
        "--file",
        str(REPO / "Dockerfile"),
        str(REPO),
        timeout=BUILD_TIMEOUT,
    )


@pytest.fixture(scope="session")
def image(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The image, built once per test process; xdist workers take turns on a file lock
    (the second finds every layer cached)."""
    _require_tools()
    lock_path = _cache_dir() / "image.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build(tmp_path_factory.mktemp("image-build") / "build.log")


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


def run_in_image(
    image: str,
    argv: Sequence[str],
    *,
    volumes: Mapping[Path, str] | None = None,
    env: Mapping[str, str] | None = None,
    workdir: str | None = None,
) -> Run:
    """Run ``argv`` in a fresh container of ``image``; ``volumes`` maps host to container
    paths. ``env`` goes through a mounted JSON file, so no value reaches buildah's argv."""
    created = _buildah("from", "--quiet", image)
    assert created.returncode == 0, created.stderr
    container = created.stdout.strip()
    args = ["run"]
    for host, target in (volumes or {}).items():
        args += ["--volume", f"{host}:{target}"]
    if workdir:
        args += ["--workingdir", workdir]
    try:
        with contextlib.ExitStack() as stack:
            if env:
                # mkdtemp makes the directory 0700: only root reads the values.
                env_dir = Path(
                    stack.enter_context(tempfile.TemporaryDirectory(prefix="gitops-promote-env-"))
                )
                (env_dir / "env.json").write_text(json.dumps(dict(env)), encoding="utf-8")
                args += ["--volume", f"{env_dir}:/run/test-env:ro"]
                argv = [
                    "python3",
                    "-c",
                    "import json, os, sys\n"
                    "env = {**os.environ, **json.load(open('/run/test-env/env.json'))}\n"
                    "os.execvpe(sys.argv[1], sys.argv[1:], env)",
                    *argv,
                ]
            proc = _buildah(*args, container, "--", *argv)
    finally:
        _buildah("rm", container)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def _config_repo_files(
    digest: str, image: str = "ghcr.io/myorg/api-service"
) -> dict[str, gitutil.FileContent]:
    return {
        "promotion.yaml": (
            "version: 1\n"
            "environments:\n"
            "  - name: dev\n"
            "    path: apps/{app}/overlays/dev\n"
            "    mode: push\n"
            "  - name: staging\n"
            "    path: apps/{app}/overlays/staging\n"
            "    from: dev\n"
            "    mode: pull-request\n"
            "apps:\n"
            f"  api-service: {{image: {image}}}\n"
        ),
        "apps/api-service/base/kustomization.yaml": "resources:\n  - deployment.yaml\n",
        "apps/api-service/base/deployment.yaml": (
            "apiVersion: apps/v1\n"
            "kind: Deployment\n"
            "metadata:\n"
            "  name: api-service\n"
            "spec:\n"
            "  selector:\n"
            "    matchLabels: {app: api-service}\n"
            "  template:\n"
            "    metadata:\n"
            "      labels: {app: api-service}\n"
            "    spec:\n"
            "      containers:\n"
            "        - name: api\n"
            f"          image: {image}:latest\n"
        ),
        **{
            f"apps/api-service/overlays/{env}/kustomization.yaml": (
                f"resources:\n  - ../../base\nimages:\n  - name: {image}\n    digest: {digest}\n"
            )
            for env in ("dev", "staging")
        },
    }


@dataclass(frozen=True)
class Workspace:
    path: Path
    head: str


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A checked-out config repo owned by the runner's uid, as ``actions/checkout`` leaves
    it in ``/github/workspace``; the container runs as root, so git sees another owner."""
    repo = gitutil.init_repo(tmp_path / "workspace")
    head = gitutil.commit_files(repo, _config_repo_files(OLD_DIGEST), message="seed config repo")
    for path in [repo, *repo.rglob("*")]:
        os.lchown(path, RUNNER_UID, RUNNER_UID)
    return Workspace(repo, head)


def test_gitops_promote_reports_its_version(image: str) -> None:
    """`gitops-promote --version` in the image prints the packaged version."""
    run = run_in_image(image, ["gitops-promote", "--version"])
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == f"gitops-promote {__version__}"


def test_image_follows_github_container_action_rules(image: str) -> None:
    """The entrypoint is the action program; no USER and no WORKDIR (the runner mounts the
    workspace as root and sets the working directory itself)."""
    proc = _buildah("inspect", "--type", "image", image)
    assert proc.returncode == 0, proc.stderr
    config = json.loads(proc.stdout)["OCIv1"]["config"]
    assert config.get("Entrypoint") == ["gitops-promote", "action"]
    assert not config.get("User")
    assert config.get("WorkingDir", "") in ("", "/")
    assert "/opt/venv/bin" in next(e for e in config["Env"] if e.startswith("PATH="))


def test_kubectl_kustomize_renders_an_overlay_with_the_digest(
    image: str, workspace: Workspace
) -> None:
    """`kubectl kustomize` (kustomize embedded in kubectl) renders a workspace overlay and
    the rendered image is exactly name@digest."""
    run = run_in_image(
        image,
        ["kubectl", "kustomize", "apps/api-service/overlays/dev"],
        volumes={workspace.path: WORKSPACE},
        workdir=WORKSPACE,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"image: ghcr.io/myorg/api-service@{OLD_DIGEST}\n" in run.stdout


def test_git_trusts_the_mounted_workspace_owned_by_another_uid(
    image: str, workspace: Workspace
) -> None:
    """git works in /github/workspace although another uid owns it (safe.directory is set
    system-wide in the image); without that setting git would refuse the repository."""
    run = run_in_image(
        image,
        ["git", "rev-parse", "HEAD"],
        volumes={workspace.path: WORKSPACE},
        workdir=WORKSPACE,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == workspace.head

    control = run_in_image(
        image,
        ["sh", "-c", "GIT_CONFIG_NOSYSTEM=1 git rev-parse HEAD"],
        volumes={workspace.path: WORKSPACE},
        workdir=WORKSPACE,
    )
    assert control.returncode != 0
    assert "dubious ownership" in control.stderr


def test_git_in_the_image_clones_and_pushes_over_http(
    image: str, git_server: GitServer, tmp_path: Path
) -> None:
    """The image's git (with its HTTP transport) reaches the test git server on 127.0.0.1,
    sends the token from configuration (not argv or URL) and pushes a commit."""
    gitutil_files = _config_repo_files(OLD_DIGEST)
    git_server.seed("myorg/config", gitutil_files)
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir(mode=0o700)
    (secrets_dir / "gitconfig").write_text(
        f'[http]\n\textraHeader = "Authorization: {git_server.auth_header()}"\n',
        encoding="utf-8",
    )
    script = (
        "set -e\n"
        'git clone -q "$1" /tmp/config\n'
        "cd /tmp/config\n"
        "sed -i 's/cdcd*/" + DIGEST.removeprefix("sha256:") + "/' "
        "apps/api-service/overlays/dev/kustomization.yaml\n"
        "git -c user.name=ci -c user.email=ci@example.test commit -qam 'promote dev'\n"
        "git push -q origin HEAD:main\n"
    )
    run = run_in_image(
        image,
        ["sh", "-c", script, "sh", git_server.url("myorg/config")],
        volumes={secrets_dir: "/run/test-secrets"},
        env={"GIT_CONFIG_GLOBAL": "/run/test-secrets/gitconfig", "GIT_TERMINAL_PROMPT": "0"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    overlay = gitutil.read_file(
        git_server.path("myorg/config"), "main", "apps/api-service/overlays/dev/kustomization.yaml"
    )
    assert DIGEST.encode() in overlay
    assert all(r.authorized for r in git_server.requests)
    assert all(git_server.token not in r.url_path for r in git_server.requests)


def test_image_keeps_no_build_secrets_or_build_tools(image: str) -> None:
    """The final image holds no build secret, no sources or wheels, and no pip in the
    program's venv; the build's pip CA bundle is nowhere in the image's history."""
    run = run_in_image(
        image,
        [
            "sh",
            "-c",
            "ls /run/secrets /src /dist /opt/build /opt/kubectl 2>/dev/null | wc -l;"
            " test -e /opt/venv/bin/pip && echo pip-present;"
            " env | grep -c '^PIP_' || true",
        ],
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.split()
    assert lines == ["0", "0"], run.stdout
    history = _buildah("inspect", "--type", "image", image)
    assert "BEGIN CERTIFICATE" not in history.stdout
    assert "/run/secrets/pip_cert" not in json.dumps(json.loads(history.stdout)["OCIv1"]["config"])


def _has_action_command(image: str) -> bool:
    run = run_in_image(image, ["gitops-promote", "--help"])
    return run.returncode == 0 and "action" in run.stdout


def test_entrypoint_promotes_into_dev_from_inputs(
    image: str,
    git_server: GitServer,
    oci_registry: Registry,
    registry_repo: str,
    tmp_path: Path,
) -> None:
    """The entrypoint reads INPUT_* as `uses: docker://...` passes them: a dev promotion of
    a digest that exists in the (real) registry pushes one commit to the config repo on the
    test git server, writes the outputs and the job summary, and prints the token only in
    its `::add-mask::` command."""
    if not _has_action_command(image):
        pytest.skip(
            "SKIPPED LOUDLY: `gitops-promote action` (the image's entrypoint, reading INPUT_*)"
            " is not implemented yet by the CLI"
        )
    app_image = oci_registry.image(registry_repo)
    digest = oci_registry.push_image(registry_repo, "1.0.0")
    git_server.seed("myorg/config", _config_repo_files(OLD_DIGEST, app_image))
    bare = git_server.path("myorg/config")
    before = gitutil.rev_parse(bare, "main")
    github = tmp_path / "github"
    (github / "workspace").mkdir(parents=True)
    (github / "file_commands").mkdir()
    for name in ("output", "summary"):
        (github / "file_commands" / name).touch()
    (github / "event.json").write_text("{}", encoding="utf-8")
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_SERVER_URL": git_server.base_url,
        "GITHUB_API_URL": "http://127.0.0.1:9/api",  # a dev push needs no GitHub API
        "GITHUB_WORKSPACE": WORKSPACE,
        "GITHUB_OUTPUT": "/github/file_commands/output",
        "GITHUB_STEP_SUMMARY": "/github/file_commands/summary",
        "GITHUB_EVENT_PATH": "/github/event.json",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REPOSITORY": "myorg/api-service",
        # A container action gets its inputs with the names as written, hyphens included.
        "INPUT_COMMAND": "promote",
        "INPUT_APP": "api-service",
        "INPUT_ENVIRONMENT": "dev",
        "INPUT_IMAGE": app_image,
        "INPUT_DIGEST": digest,
        "INPUT_CONFIG-REPO": "myorg/config",
        "INPUT_TOKEN": git_server.token,
    }
    run = run_in_image(
        image,
        ["gitops-promote", "action"],
        volumes={github: "/github"},
        env=env,
        workdir=WORKSPACE,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    leaks = [
        line
        for line in output.splitlines()
        if git_server.token in line and not line.startswith("::add-mask::")
    ]
    assert leaks == []
    assert gitutil.rev_parse(bare, "main") != before
    overlay = gitutil.read_file(bare, "main", "apps/api-service/overlays/dev/kustomization.yaml")
    assert f"digest: {digest}".encode() in overlay
    outputs = (github / "file_commands" / "output").read_text(encoding="utf-8")
    assert "operation" in outputs
    assert digest in outputs
    summary = (github / "file_commands" / "summary").read_text(encoding="utf-8")
    assert "api-service" in summary
    assert git_server.token not in outputs + summary
