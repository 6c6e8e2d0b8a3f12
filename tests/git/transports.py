"""Every git transport a config repo can be reached by, for tests: ``git daemon``
(``git://``) and ``sshd`` (``ssh://``) on loopback, each on a free port with its own files,
plus ``file://`` and a plain path. The HTTP server with token auth is
:mod:`support.githttp`.

A missing ``git daemon`` or ``sshd`` fails the test under ``CI=true`` (tests/run.sh
installs ``openssh-server``) and skips it loudly elsewhere.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from support import gitutil
from support.tools import missing

_START_TIMEOUT = 20.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End a server this module started (by its own handle, never by name)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_until_listening(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _stop(proc)
            raise RuntimeError(
                f"server exited {proc.returncode}: {log.read_text(errors='replace')}"
            )
        if _listening(port):
            return
        time.sleep(0.05)
    _stop(proc)
    raise RuntimeError(f"server did not listen on {port}: {log.read_text(errors='replace')}")


@dataclass(frozen=True)
class Transport:
    """How a client reaches the bare repos under ``root``: ``url(bare)`` and the
    environment a client needs (an ssh command, for ssh)."""

    name: str
    root: Path
    prefix: str  # URL of ``root``; "" for plain paths
    env: Mapping[str, str]

    def url(self, bare: Path) -> str:
        rel = bare.relative_to(self.root).as_posix()
        return f"{self.prefix}/{rel}" if self.prefix else str(bare)


def file_transport(root: Path) -> Transport:
    return Transport("file", root, root.absolute().as_uri(), {})


def path_transport(root: Path) -> Transport:
    return Transport("path", root, "", {})


def _git_daemon() -> str:
    exec_path = gitutil.git("--exec-path")
    daemon = Path(exec_path) / "git-daemon"
    if not daemon.is_file():
        missing("git daemon", "it comes with Debian's git package (tests/run.sh installs git)")
    return str(daemon)


@contextlib.contextmanager
def git_daemon(root: Path, work: Path) -> Iterator[Transport]:
    """``git daemon`` serving (and accepting pushes to) every repo under ``root`` on
    ``git://127.0.0.1:PORT/``."""
    daemon = _git_daemon()
    work.mkdir(parents=True, exist_ok=True)
    log = work / "git-daemon.log"
    for _attempt in range(5):  # the free port may be taken between asking and binding
        port = free_port()
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    daemon,
                    "--listen=127.0.0.1",
                    f"--port={port}",
                    f"--base-path={root}",
                    "--export-all",
                    "--enable=receive-pack",
                    "--informative-errors",
                    "--reuseaddr",
                    str(root),
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=gitutil.clean_env(),
            )
        try:
            _wait_until_listening(proc, port, log)
        except RuntimeError:
            continue
        try:
            yield Transport("git", root, f"git://127.0.0.1:{port}", {})
        finally:
            _stop(proc)
        return
    raise RuntimeError(f"git daemon did not start: {log.read_text(errors='replace')}")


def _sshd() -> str:
    for candidate in (shutil.which("sshd"), "/usr/sbin/sshd"):
        if candidate and Path(candidate).is_file():
            return candidate
    missing("sshd", "tests/run.sh installs Debian's openssh-server")
    raise AssertionError("unreachable")


@contextlib.contextmanager
def sshd(root: Path, work: Path) -> Iterator[Transport]:
    """An ``sshd`` on ``127.0.0.1:PORT`` with its own host key, config and
    ``authorized_keys``, letting this user in with a key made for the test: clients get
    ``GIT_SSH_COMMAND`` with that key and a ``known_hosts`` holding the host key (strict
    checking, no agent, no user config). Unprivileged it can only let in the user it runs
    as, which is the one the tests run as; as root it needs ``/run/sshd`` (its privilege
    separation directory, which the service would create), made here when missing."""
    binary = _sshd()
    keygen = shutil.which("ssh-keygen")
    ssh = shutil.which("ssh")
    if keygen is None or ssh is None:
        missing("ssh and ssh-keygen", "tests/run.sh installs Debian's openssh-server")
        raise AssertionError("unreachable")
    work.mkdir(parents=True, exist_ok=True)
    for key in ("host", "client"):
        subprocess.run(
            [keygen, "-q", "-t", "ed25519", "-N", "", "-C", key, "-f", str(work / key)],
            check=True,
            stdin=subprocess.DEVNULL,
        )
    shutil.copy(work / "client.pub", work / "authorized_keys")
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
    user = getpass.getuser()
    log = work / "sshd.log"
    for _attempt in range(5):
        port = free_port()
        config = work / "sshd_config"
        config.write_text(
            f"Port {port}\n"
            "ListenAddress 127.0.0.1\n"
            f"HostKey {work / 'host'}\n"
            f"AuthorizedKeysFile {work / 'authorized_keys'}\n"
            f"PidFile {work / 'sshd.pid'}\n"
            "StrictModes no\n"
            "UsePAM no\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "PubkeyAuthentication yes\n"
            "PermitRootLogin prohibit-password\n"
            f"AllowUsers {user}\n"
            "LogLevel ERROR\n"
        )
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [binary, "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_until_listening(proc, port, log)
        except RuntimeError:
            continue
        host_key = (work / "host.pub").read_text().strip()
        known = work / "known_hosts"
        known.write_text(f"[127.0.0.1]:{port} {host_key}\n")
        command = (
            f"{ssh} -F /dev/null -i {work / 'client'} -o IdentitiesOnly=yes -o BatchMode=yes "
            f"-o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes"
        )
        try:
            yield Transport(
                "ssh", root, f"ssh://{user}@127.0.0.1:{port}{root}", {"GIT_SSH_COMMAND": command}
            )
        finally:
            _stop(proc)
        return
    raise RuntimeError(f"sshd did not start: {log.read_text(errors='replace')}")
