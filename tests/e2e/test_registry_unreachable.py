"""A registry that cannot be reached, through the CLI and the action entry point: the
world's failure (exit 3), and the one error line says how to promote without asking it:
``--skip-registry-check`` on the command line, ``skip-registry-check: true`` in the action.
Nothing is pushed. Passing that flag then promotes the same digest."""

from __future__ import annotations

import socket
from pathlib import Path

from support import gitutil
from support.inprocess import cli
from support.repos import ConfigRepo, digest_of

OVERLAY = "apps/api-service/overlays/{env}/kustomization.yaml"
ENVS = ("dev", "staging", "production")
DEV = OVERLAY.format(env="dev")


def closed_loopback_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_registry_error_names_skip_registry_check(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    """promote --image at a loopback registry nobody listens on: exit 3, one error line
    naming the registry, --skip-registry-check and `skip-registry-check: true`; the
    action entry point says the same; main does not move. With --skip-registry-check the
    promotion is pushed."""
    name = f"127.0.0.1:{closed_loopback_port()}/myorg/api-service"
    moved = {
        rel: gitutil.read_file(config_repo.bare, "main", rel)
        .decode()
        .replace("ghcr.io/myorg/api-service", name)
        for rel in ("promotion.yaml", *(OVERLAY.format(env=e) for e in ENVS))
    }
    before = gitutil.commit_tree_to_bare(config_repo.bare, moved, message="api on loopback")
    image = f"{name}@{digest_of('build 7')}"
    args = ("--remote", config_repo.url, "--app", "api-service", "--env", "dev")
    run = cli("promote", *args, "--image", image, cwd=tmp_path, env=config_repo.env, check=3)
    (line,) = run.stderr.splitlines()
    assert line.startswith("error: registry 127.0.0.1:")
    assert "cannot reach it" in line
    assert "--skip-registry-check" in line
    assert "`skip-registry-check: true`" in line
    assert "Traceback" not in run.output

    checkout = tmp_path / "checkout"
    gitutil.git("clone", "-q", str(config_repo.bare), str(checkout))
    action = cli(
        "action",
        cwd=tmp_path,
        env={
            "INPUT_COMMAND": "promote",
            "INPUT_REPO_PATH": str(checkout),
            "INPUT_APP": "api-service",
            "INPUT_ENVIRONMENT": "dev",
            "INPUT_IMAGE": image,
        },
        check=3,
    )
    assert "`skip-registry-check: true`" in action.stderr
    assert "Traceback" not in action.output
    assert gitutil.rev_parse(config_repo.bare, "main") == before
    assert gitutil.rev_parse(checkout, "HEAD") == before

    cli("promote", *args, "--image", image, "--skip-registry-check", cwd=tmp_path,
        env=config_repo.env)  # fmt: skip
    dev = gitutil.read_file(config_repo.bare, "main", DEV).decode()
    assert "127.0.0.1:" in dev
    assert digest_of("build 7") in dev
