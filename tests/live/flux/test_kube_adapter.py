"""``adapters.kube.get_flux_object`` against the Kubernetes API fake over real HTTPS:
kubeconfig from a file, from text and in-cluster; 404, 401, 403, timeouts, 5xx retried and
bounded; bad kubeconfigs and hostile names as one-line errors; credentials never shown."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gitops_promote.adapters import secrets
from gitops_promote.adapters.kube import (
    RETRIES,
    FluxKind,
    KubeAccess,
    KubeconfigError,
    get_flux_object,
)
from gitops_promote.errors import InputError, LiveError, PromoteError, UserError
from support.kube_fake import KubeFake, states
from support.repos import EXAMPLE

NS = "flux-system"
NAME = "web-staging"


def no_sleep(_: float) -> None:
    return


def read(
    access: KubeAccess,
    kind: FluxKind = "Kustomization",
    name: str = NAME,
    *,
    retries: int = RETRIES,
) -> dict[str, Any] | None:
    return get_flux_object(access, kind, name, NS, retries=retries, sleep=no_sleep)


def text_access(fake: KubeFake, **options: Any) -> KubeAccess:
    return KubeAccess(kubeconfig_text=fake.kubeconfig(**options), origin="environment variable KC")


def one_line(err: PromoteError) -> str:
    text = str(err)
    assert "\n" not in text, text
    assert "\r" not in text, text
    return text


# -- reading ---------------------------------------------------------------------------------


def test_reads_a_kustomization_from_kubeconfig_text(kube_fake: KubeFake) -> None:
    kube_fake.add(states.ks_ready())
    obj = read(text_access(kube_fake))
    assert obj is not None
    assert obj["kind"] == "Kustomization"
    assert obj["status"]["lastAppliedRevision"] == f"main@sha1:{states.SHA_NEW}"
    (request,) = kube_fake.requests
    assert (
        request.path
        == f"/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/{NS}/kustomizations/{NAME}"
    )
    assert request.user == kube_fake.user


def test_reads_a_helmrelease_from_a_kubeconfig_file(kube_fake: KubeFake, tmp_path: Path) -> None:
    kube_fake.add(states.hr_installed())
    secrets.clear()
    path = kube_fake.write_kubeconfig(tmp_path / "kubeconfig", ca="file")
    obj = read(KubeAccess(kubeconfig=str(path)), kind="HelmRelease")
    assert secrets.redact(kube_fake.token) == "***"  # the file's token is a secret too
    assert obj is not None
    assert obj["status"]["history"][0]["chartVersion"] == "1.2.3"
    assert kube_fake.requests[0].path.startswith("/apis/helm.toolkit.fluxcd.io/v2/namespaces/")


def test_a_relative_ca_path_is_read_beside_the_kubeconfig_file(
    kube_fake: KubeFake, tmp_path: Path
) -> None:
    kube_fake.add(states.ks_ready())
    shutil.copy(kube_fake.pki.ca, tmp_path / "cluster-ca.crt")
    text = kube_fake.kubeconfig(ca="none").replace(
        '"server"', '"certificate-authority": "cluster-ca.crt", "server"'
    )
    (tmp_path / "config").write_text(text)
    assert read(KubeAccess(kubeconfig=str(tmp_path / "config"))) is not None


def test_client_certificate_authentication(kube_fake: KubeFake) -> None:
    kube_fake.add(states.ks_ready())
    assert read(text_access(kube_fake, auth="cert")) is not None
    assert kube_fake.requests[-1].user == "promoter"
    assert not kube_fake.requests[-1].authorization


def test_a_named_context_is_used(kube_fake: KubeFake) -> None:
    kube_fake.add(states.ks_ready())
    text = kube_fake.kubeconfig(context="staging").replace(
        '"current-context": "staging"', '"current-context": "elsewhere"'
    )
    assert read(KubeAccess(kubeconfig_text=text, context="staging")) is not None


def test_in_cluster_service_account(
    kube_fake: KubeFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kube_fake.add(states.ks_ready())
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(kube_fake.token + "\n")
    (account / "namespace").write_text(NS)
    shutil.copy(kube_fake.pki.ca, account / "ca.crt")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", kube_fake.url.rsplit(":", 1)[1])
    assert read(KubeAccess(service_account=str(account))) is not None
    assert secrets.redact(kube_fake.token) == "***"


def test_not_in_a_cluster_and_no_kubeconfig(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT", raising=False)
    with pytest.raises(KubeconfigError, match="not running inside a cluster") as caught:
        read(KubeAccess())
    assert caught.value.exit_code == 2
    one_line(caught.value)


def test_insecure_skip_tls_verify_is_honoured_only_when_the_kubeconfig_says_so(
    kube_fake: KubeFake,
) -> None:
    kube_fake.add(states.ks_ready())
    assert read(text_access(kube_fake, ca="none", insecure=True)) is not None
    with pytest.raises(LiveError, match="TLS verification failed") as caught:
        read(text_access(kube_fake, ca="none"))
    assert caught.value.kind == "unreachable"
    assert len(kube_fake.requests) == 1  # a TLS failure is not retried


def test_a_server_certificate_the_kubeconfig_ca_did_not_sign_is_refused(
    kube_fake: KubeFake,
) -> None:
    kube_fake.add(states.ks_ready())
    with pytest.raises(LiveError, match="TLS verification failed") as caught:
        read(text_access(kube_fake, ca="other"), retries=3)
    assert caught.value.kind == "unreachable"
    assert kube_fake.requests == []


# -- answers ---------------------------------------------------------------------------------


def test_404_for_the_object_is_none(kube_fake: KubeFake) -> None:
    assert read(text_access(kube_fake)) is None
    assert read(text_access(kube_fake), kind="HelmRelease") is None


def test_404_for_the_api_itself_says_flux_is_not_there(kube_fake: KubeFake) -> None:
    kube_fake.hide_api("HelmRelease")
    with pytest.raises(LiveError) as caught:
        read(text_access(kube_fake), kind="HelmRelease")
    assert caught.value.kind == "invalid"
    assert "helmreleases.helm.toolkit.fluxcd.io/v2" in one_line(caught.value)
    assert "is Flux installed" in str(caught.value)


@pytest.mark.parametrize("token", ["wrong-token", None])
def test_401(kube_fake: KubeFake, token: str | None) -> None:
    kube_fake.add(states.ks_ready())
    options = {"token": token} if token else {"auth": "none"}
    with pytest.raises(LiveError) as caught:
        read(text_access(kube_fake, **options), retries=3)
    assert caught.value.kind == "unauthorized"
    assert "HTTP 401" in one_line(caught.value)
    assert len(kube_fake.requests) == 1  # refused credentials are not retried


def test_403_names_what_to_grant(kube_fake: KubeFake) -> None:
    kube_fake.add(states.ks_ready())
    kube_fake.add_user("ci-reader", "reader-token-0123456789", {"apps"})
    with pytest.raises(LiveError) as caught:
        read(text_access(kube_fake, token="reader-token-0123456789"))
    assert caught.value.kind == "forbidden"
    message = one_line(caught.value)
    assert "HTTP 403" in message
    assert 'User \\"ci-reader\\" cannot get' in message or 'User "ci-reader" cannot get' in message
    assert "kustomizations.kustomize.toolkit.fluxcd.io" in (caught.value.hint or "")


def test_500_then_ok_is_retried(kube_fake: KubeFake) -> None:
    kube_fake.add(states.ks_ready())
    kube_fake.fail("status", status=500, times=2)
    waits: list[float] = []
    obj = get_flux_object(text_access(kube_fake), "Kustomization", NAME, NS, sleep=waits.append)
    assert obj is not None
    assert len(kube_fake.requests) == 3
    assert len(waits) == 2
    assert waits[1] > waits[0] * 0.5


def test_500_forever_is_bounded(kube_fake: KubeFake) -> None:
    kube_fake.add(states.ks_ready())
    kube_fake.fail("status", status=503, times=100)
    waits: list[float] = []
    with pytest.raises(LiveError) as caught:
        get_flux_object(
            text_access(kube_fake), "Kustomization", NAME, NS, retries=3, sleep=waits.append
        )
    assert caught.value.kind == "unreachable"
    assert "after 4 attempt(s): HTTP 503" in one_line(caught.value)
    assert len(kube_fake.requests) == 4
    assert len(waits) == 3
    assert all(0 < w <= 8 * 1.5 for w in waits)


def test_timeout(kube_fake: KubeFake) -> None:
    kube_fake.add(states.ks_ready())
    kube_fake.fail("delay", seconds=1.5, times=2)
    access = KubeAccess(kubeconfig_text=kube_fake.kubeconfig(), timeout=0.3)
    with pytest.raises(LiveError) as caught:
        read(access, retries=1)
    assert caught.value.kind == "unreachable"
    assert "no answer within 0.3s" in one_line(caught.value)


def test_timeout_then_ok(kube_fake: KubeFake) -> None:
    kube_fake.add(states.ks_ready())
    kube_fake.fail("delay", seconds=1.0, times=1)
    access = KubeAccess(kubeconfig_text=kube_fake.kubeconfig(), timeout=0.3)
    assert read(access, retries=1) is not None


def test_dropped_connections(kube_fake: KubeFake) -> None:
    kube_fake.add(states.ks_ready())
    kube_fake.fail("drop", times=1)
    assert read(text_access(kube_fake)) is not None
    kube_fake.fail("drop", times=10)
    with pytest.raises(LiveError) as caught:
        read(text_access(kube_fake), retries=2)
    assert caught.value.kind == "unreachable"


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"<html>login</html>", 200, "is not a JSON object"),
        (json.dumps(states.ks_ready(name="other")).encode(), 200, "is another object"),
        (json.dumps(states.ks_ready(namespace="apps")).encode(), 200, "is another object"),
        (json.dumps(states.hr_installed()).encode(), 200, "is another object"),
        (b"[" * 100_000, 200, "is not a JSON object"),
        (b" " * (9 << 20), 200, "larger than 8 MiB"),
        (b"{}", 302, "answered HTTP 302"),
        (b"{}", 400, "answered HTTP 400"),
    ],
)
def test_an_answer_that_is_not_the_object_asked_for(
    kube_fake: KubeFake, body: bytes, status: int, words: str
) -> None:
    kube_fake.fail("body", body=body, status=status)
    with pytest.raises(LiveError) as caught:
        read(text_access(kube_fake))
    assert caught.value.kind == "invalid"
    assert words in one_line(caught.value)


def test_nothing_listening(kube_fake: KubeFake) -> None:
    with pytest.raises(LiveError) as caught:
        read(text_access(kube_fake, server="https://127.0.0.1:9"), retries=1)
    assert caught.value.kind == "unreachable"
    assert "https://127.0.0.1:9" in one_line(caught.value)


# -- bad kubeconfigs -------------------------------------------------------------------------


def kubeconfig_error(access: KubeAccess) -> str:
    with pytest.raises(KubeconfigError) as caught:
        read(access)
    assert isinstance(caught.value, UserError)
    assert caught.value.exit_code == 2
    return one_line(caught.value)


def test_wrong_context(kube_fake: KubeFake) -> None:
    message = kubeconfig_error(
        KubeAccess(kubeconfig_text=kube_fake.kubeconfig(), context="prod", origin="$KC")
    )
    assert message.startswith("$KC: no context 'prod' (contexts: 'fake')")


def test_missing_kubeconfig_file(tmp_path: Path) -> None:
    message = kubeconfig_error(KubeAccess(kubeconfig=str(tmp_path / "nope")))
    assert message == f"kubeconfig {tmp_path / 'nope'}: cannot read it (no such file) " + (
        "(point the Flux kubeconfig setting at a readable kubeconfig file)"
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("clusters: [\n  - name: a\n", "not valid YAML at line"),
        ("just a string", "not a kubeconfig"),
        ("clusters: []\n", "contexts is missing"),
        ("clusters: []\ncontexts: []\n", "no current-context"),
        (
            "clusters: [{name: c, cluster: {server: 5}}]\ncontexts: [{name: x, context: "
            "{cluster: c}}]\ncurrent-context: x\n",
            "not a valid kubeconfig",
        ),
        (
            "clusters: []\ncontexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n",
            "names a missing cluster or user",
        ),
        (
            "clusters: [{name: c, cluster: {server: 'ftp://x'}}]\ncontexts: [{name: x, "
            "context: {cluster: c}}]\ncurrent-context: x\n",
            "is not an https URL",
        ),
        (
            "clusters: [{name: c, cluster: {server: 'http://10.0.0.1:6443'}}]\ncontexts: "
            "[{name: x, context: {cluster: c}}]\ncurrent-context: x\n",
            "is plain http",
        ),
    ],
)
def test_malformed_kubeconfig_text_is_one_line_naming_it(text: str, words: str) -> None:
    message = kubeconfig_error(KubeAccess(kubeconfig_text=text, origin="environment variable KC"))
    assert message.startswith("environment variable KC: "), message
    assert words in message


def test_bad_certificate_data(kube_fake: KubeFake) -> None:
    text = kube_fake.kubeconfig().replace(kube_fake.pki.data(kube_fake.pki.ca), "bm90IGEgY2VydA==")
    message = kubeconfig_error(KubeAccess(kubeconfig_text=text, origin="$KC"))
    assert "TLS settings of context 'fake' cannot be used" in message


def test_an_exec_plugin_is_refused_and_never_run(kube_fake: KubeFake, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = kube_fake.kubeconfig(auth="none").replace(
        '"user": {}',
        '"user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", '
        f'"command": "touch", "args": ["{marker}"]}}}}',
    )
    message = kubeconfig_error(KubeAccess(kubeconfig_text=text, origin="$KC"))
    assert "exec credential plugin" in message
    assert not marker.exists()


# -- hostile names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["../web", "web/../../x", "a/b", "web\nx", "web\r", "", "Web", "a..b", ".a", "a" * 254,
     "web%2F..", "web?x=1", "web#x", " web", "https://evil.example/"],
)  # fmt: skip
def test_hostile_names_never_reach_the_api(kube_fake: KubeFake, name: str) -> None:
    access = text_access(kube_fake)
    with pytest.raises(InputError) as caught:
        read(access, name=name)
    one_line(caught.value)
    with pytest.raises(InputError):
        get_flux_object(access, "Kustomization", "web", name if name else "", sleep=no_sleep)
    assert kube_fake.requests == []


def test_a_long_namespace_is_refused(kube_fake: KubeFake) -> None:
    with pytest.raises(InputError, match="namespace"):
        get_flux_object(text_access(kube_fake), "Kustomization", "web", "a" * 64)


def test_an_unknown_kind_is_refused(kube_fake: KubeFake) -> None:
    with pytest.raises(InputError, match="not a Flux kind"):
        get_flux_object(text_access(kube_fake), "Secret", "web", NS)  # type: ignore[arg-type]


# -- secrets ---------------------------------------------------------------------------------


def test_credentials_never_in_exceptions_logs_or_repr(
    kube_fake: KubeFake, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets.clear()
    token = "kubetoken-" + "s3cr3t" * 6
    kube_fake.add_user("limited", token, {"apps"})
    text = kube_fake.kubeconfig(token=token)
    key_data = kube_fake.pki.data(kube_fake.pki.client_key)
    cert_text = kube_fake.kubeconfig(auth="cert")
    access = KubeAccess(kubeconfig_text=text, context="fake", origin="$KC")
    assert text not in repr(access)
    assert token not in repr(access)

    failures: list[BaseException] = []

    def attempt(a: KubeAccess, retries: int = RETRIES) -> None:
        try:
            read(a, retries=retries)
        except PromoteError as err:
            failures.append(err)

    attempt(access)  # 403
    kube_fake.fail("status", status=500, times=10)
    attempt(access, retries=1)
    kube_fake.reset()
    attempt(access)  # 401: the token is no longer known
    attempt(KubeAccess(kubeconfig_text=text, context="nope"))
    attempt(KubeAccess(kubeconfig_text=text + f"\nbroken: [{token}\n"))  # YAML error
    attempt(KubeAccess(kubeconfig_text=f"{token}: [x\n"))
    attempt(KubeAccess(kubeconfig_text=f"clusters: {token}\ncontexts: []"))
    path = tmp_path / "kc"
    path.write_text(text.replace('"server"', f'"{token}": 1, "server"'))
    attempt(KubeAccess(kubeconfig=str(path)))
    attempt(KubeAccess(kubeconfig_text=cert_text.replace(key_data, key_data[:-8] + "AAAAAAA=")))
    assert len(failures) == 9
    assert read(KubeAccess(kubeconfig_text=cert_text)) is None  # client key registered too
    for err in failures:
        shown = " ".join([str(err), repr(err), str(getattr(err, "hint", "")), repr(err.args)])
        assert token not in shown, shown
        assert key_data not in shown
        assert text not in shown
    assert token not in caplog.text
    assert secrets.redact(f"x {token} y") == "x *** y"
    assert secrets.redact(key_data) == "***"


def test_status_without_live_state_imports_no_kubernetes_client(tmp_path: Path) -> None:
    """``gitops-promote status`` on a config without live state: lightkube and its HTTP
    client are never imported (a fresh interpreter, so no other test's imports count)."""
    repo = tmp_path / "config"
    shutil.copytree(EXAMPLE, repo)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path)}
    for key in ("GIT_DIR", "GIT_WORK_TREE"):
        env.pop(key, None)
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com",
         "commit", "-qam", "x", "--allow-empty"],
        check=True, env=env,
    )  # fmt: skip
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=env)
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com",
         "commit", "-qm", "config"],
        check=True, env=env,
    )  # fmt: skip
    probe = (
        "import sys\n"
        "from gitops_promote.cli import main\n"
        f"code = main(['status', '--repo', {str(repo)!r}])\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('lightkube', 'httpx2', 'httpx', 'httpcore', 'msgspec', 'gitops_promote.adapters.kube'))\n"
        "print('LOADED', loaded, 'CODE', code)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert "LOADED [] CODE 0" in run.stdout, run.stdout + run.stderr
    # And importing the adapter itself does not import lightkube either.
    run = subprocess.run(
        [sys.executable, "-c", "import sys, gitops_promote.adapters.kube, "
         "gitops_promote.facts.live.flux; print(sorted(m for m in sys.modules "
         "if m.split('.')[0] in ('lightkube', 'httpx2', 'httpx', 'yaml')))"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert run.stdout.strip() == "[]", run.stdout + run.stderr
