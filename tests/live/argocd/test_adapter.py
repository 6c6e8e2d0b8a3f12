"""get_application() through the fake Argo CD: answers, failures, TLS, names, secrets."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitops_promote.adapters import argocd as adapter
from gitops_promote.adapters import secrets
from gitops_promote.adapters.argocd import (
    ArgoCDEndpoint,
    application_url,
    get_application,
    name_problem,
    server_problem,
)
from gitops_promote.errors import LiveError, PromoteError, UserError
from support.argocd_fake import FORBIDDEN_TOKEN, TOKEN, ArgoCDFake, states


def no_sleep(seconds: float) -> None:
    """Retries without waiting (the waits are asserted where they matter)."""


def endpoint(fake: ArgoCDFake, token: str | None = TOKEN, **kwargs: object) -> ArgoCDEndpoint:
    return ArgoCDEndpoint(fake.url, token, ca_file=fake.ca_file, **kwargs)  # type: ignore[arg-type]


def test_gets_the_application_with_the_bearer_token(argocd: ArgoCDFake) -> None:
    served = argocd.add(states.synced_healthy("web-staging"))
    assert get_application(endpoint(argocd), "web-staging") == served
    (seen,) = argocd.seen
    assert seen.path == "/api/v1/applications/web-staging"
    assert seen.query == {}
    assert seen.authorization == f"Bearer {TOKEN}"


def test_app_namespace_is_passed_as_a_query(argocd: ArgoCDFake) -> None:
    argocd.add(states.synced_healthy("web", namespace="team-a"))
    assert get_application(endpoint(argocd), "web", "team-a") is not None
    assert argocd.seen[-1].query == {"appNamespace": ["team-a"]}
    # not in argocd's own namespace: missing there
    assert get_application(endpoint(argocd), "web", project="default") is None


def test_base_path() -> None:
    with ArgoCDFake(tokens={TOKEN}, base_path="/argo-cd") as fake:
        fake.add(states.synced_healthy())
        assert fake.url.endswith("/argo-cd")
        assert get_application(endpoint(fake), "web-staging") is not None
        assert get_application(ArgoCDEndpoint(fake.url + "/", TOKEN), "web-staging") is not None


def test_not_found_with_the_project_is_none(argocd: ArgoCDFake) -> None:
    assert get_application(endpoint(argocd), "web-prod", project="default") is None
    assert argocd.seen[-1].query == {"project": ["default"]}


def test_in_another_project_is_none(argocd: ArgoCDFake) -> None:
    argocd.add(states.synced_healthy())  # in project "default"
    assert get_application(endpoint(argocd), "web-staging", project="payments") is None
    assert get_application(endpoint(argocd), "web-staging", project="default") is not None


def test_not_found_without_the_project_is_forbidden_as_argocd_answers(argocd: ArgoCDFake) -> None:
    # Since 2.6.7 Argo CD hides which Applications exist unless the project is named.
    with pytest.raises(LiveError) as caught:
        get_application(endpoint(argocd), "web-prod")
    assert caught.value.kind == "forbidden"
    assert "project" in str(caught.value)


def test_not_found_without_the_project_before_argocd_2_6_7() -> None:
    with ArgoCDFake(tokens={TOKEN}, hide_missing=False) as fake:
        assert get_application(endpoint(fake), "web-prod") is None


def test_a_404_that_is_not_argocds_is_invalid(argocd: ArgoCDFake) -> None:
    # A server address without Argo CD's base path: the answer is a plain 404 page.
    wrong = ArgoCDEndpoint(argocd.url + "/not-argocd", TOKEN)
    with pytest.raises(LiveError) as caught:
        get_application(wrong, "web-staging")
    assert caught.value.kind == "invalid"
    assert "not Argo CD's" in str(caught.value)


@pytest.mark.parametrize("token", [None, "not-the-token-1234"])
def test_unauthorized(argocd: ArgoCDFake, token: str | None) -> None:
    argocd.add(states.synced_healthy())
    with pytest.raises(LiveError) as caught:
        get_application(endpoint(argocd, token), "web-staging")
    assert caught.value.kind == "unauthorized"
    assert "401" in str(caught.value)
    assert len(argocd.seen) == 1  # not retried
    if token is None:
        assert argocd.seen[0].authorization is None


@pytest.mark.parametrize("project", [None, "default"])
def test_forbidden(argocd: ArgoCDFake, project: str | None) -> None:
    argocd.add(states.synced_healthy())
    with pytest.raises(LiveError) as caught:
        get_application(endpoint(argocd, FORBIDDEN_TOKEN), "web-staging", project=project)
    assert caught.value.kind == "forbidden"
    assert "RBAC" in str(caught.value)


def test_timeout_is_unreachable(argocd: ArgoCDFake) -> None:
    argocd.add(states.synced_healthy())
    argocd.delay(2.0, times=2)
    started = time.monotonic()
    with pytest.raises(LiveError) as caught:
        get_application(endpoint(argocd, timeout=0.2), "web-staging", retries=1, sleep=no_sleep)
    assert time.monotonic() - started < 1.5
    assert caught.value.kind == "unreachable"
    assert "no answer within 0.2s after 2 attempt(s)" in str(caught.value)


def test_a_slow_answer_then_a_fast_one_is_retried(argocd: ArgoCDFake) -> None:
    argocd.add(states.synced_healthy())
    argocd.delay(1.0, times=1)
    got = get_application(endpoint(argocd, timeout=0.2), "web-staging", sleep=no_sleep)
    assert got is not None


def test_500_then_ok_is_retried_with_backoff(argocd: ArgoCDFake) -> None:
    argocd.add(states.synced_healthy())
    argocd.fail(500, times=2)
    waits: list[float] = []
    assert get_application(endpoint(argocd), "web-staging", sleep=waits.append) is not None
    assert len(argocd.seen) == 3
    assert len(waits) == 2
    assert 0.125 <= waits[0] <= 0.375  # backoff 0.25s with jitter
    assert 0.25 <= waits[1] <= 0.75  # doubled


def test_429_honours_retry_after(argocd: ArgoCDFake) -> None:
    argocd.add(states.synced_healthy())
    argocd.fail(429, times=1, retry_after="2")
    waits: list[float] = []
    assert get_application(endpoint(argocd), "web-staging", sleep=waits.append) is not None
    assert waits == [2.0]


def test_a_retry_after_beyond_the_budget_is_not_waited_for(argocd: ArgoCDFake) -> None:
    argocd.fail(503, times=1, retry_after="3600")
    waits: list[float] = []
    with pytest.raises(LiveError) as caught:
        get_application(endpoint(argocd), "web-staging", sleep=waits.append)
    assert waits == []
    assert caught.value.kind == "unreachable"
    assert "HTTP 503 after 1 attempt(s)" in str(caught.value)


def test_500_forever_is_unreachable_in_bounded_time(argocd: ArgoCDFake) -> None:
    argocd.fail(500, times=1000)
    started = time.monotonic()
    with pytest.raises(LiveError) as caught:
        get_application(endpoint(argocd), "web-staging")  # real sleeps
    assert time.monotonic() - started < 5
    assert caught.value.kind == "unreachable"
    assert "HTTP 500 after 4 attempt(s)" in str(caught.value)
    assert len(argocd.seen) == 4


def test_a_dropped_connection_is_retried(argocd: ArgoCDFake) -> None:
    argocd.add(states.synced_healthy())
    argocd.drop(times=1)
    assert get_application(endpoint(argocd), "web-staging", sleep=no_sleep) is not None


def test_connections_dropped_forever_are_unreachable(argocd: ArgoCDFake) -> None:
    argocd.drop(times=100)
    with pytest.raises(LiveError) as caught:
        get_application(endpoint(argocd), "web-staging", sleep=no_sleep)
    assert caught.value.kind == "unreachable"
    assert "cannot reach it" in str(caught.value)


def test_nothing_listening_is_unreachable() -> None:
    with ArgoCDFake(tokens={TOKEN}) as fake:
        url = fake.url
    with pytest.raises(LiveError) as caught:
        get_application(ArgoCDEndpoint(url, TOKEN), "web-staging", sleep=no_sleep)
    assert caught.value.kind == "unreachable"


@pytest.mark.parametrize(
    ("status", "body", "why"),
    [
        (200, b"<html>login</html>", "not a JSON object"),
        (200, b"[1, 2]", "not a JSON object"),
        (200, json.dumps({"kind": "Secret", "metadata": {"name": "web-staging"}}).encode(),
         "not an Application"),
        (200, json.dumps(states.synced_healthy("web-prod")).encode(), "another object"),
        (200, json.dumps({"metadata": {"name": "web-staging"}, "status": []}).encode(),
         "status is not an object"),
        (418, b"teapot", "HTTP 418"),
    ],
)  # fmt: skip
def test_answers_that_are_not_argocds_are_invalid(
    argocd: ArgoCDFake, status: int, body: bytes, why: str
) -> None:
    argocd.raw(status, body)
    with pytest.raises(LiveError) as caught:
        get_application(endpoint(argocd), "web-staging")
    assert caught.value.kind == "invalid"
    assert why in str(caught.value)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=10), c, max_size=4),
    max_leaves=20,
)


@settings(max_examples=40)
@given(
    status=st.sampled_from([200, 200, 200, 302, 400, 401, 403, 404, 409, 418]),
    body=st.one_of(
        st.binary(max_size=200),
        _json_values.map(lambda v: json.dumps(v).encode()),
        st.just(b"[" * 100_000 + b"]" * 100_000),  # nested past Python's recursion limit
        st.just(json.dumps({"metadata": {"name": "web-staging"}, "code": 5}).encode()),
    ),
)
def test_any_answer_is_an_application_none_or_a_live_error(
    argocd_http_server: ArgoCDFake, status: int, body: bytes
) -> None:
    argocd_http_server.reset()
    argocd_http_server.raw(status, body)
    failure: LiveError | None = None
    got = None
    try:
        got = get_application(endpoint(argocd_http_server), "web-staging", retries=0)
    except LiveError as err:
        failure = err
    if failure is not None:
        assert failure.kind in ("unauthorized", "forbidden", "unreachable", "invalid")
        assert "\n" not in failure.message
    else:
        assert got is None or got["metadata"]["name"] == "web-staging"


def test_json_nested_past_the_stack_is_invalid(argocd: ArgoCDFake) -> None:
    argocd.raw(200, b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(LiveError) as caught:
        get_application(endpoint(argocd), "web-staging")
    assert caught.value.kind == "invalid"


def test_an_answer_cut_short_is_unreachable(argocd: ArgoCDFake) -> None:
    argocd.raw(200, b'{"metadata": {', headers={"Content-Length": "5000"})
    with pytest.raises(LiveError) as caught:
        get_application(endpoint(argocd), "web-staging")
    assert caught.value.kind == "unreachable"
    assert "connection broke" in str(caught.value)


def test_an_answer_too_big_is_invalid(argocd: ArgoCDFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(adapter, "MAX_BODY", 1000)
    argocd.add(states.application(images=[states.IMAGE] * 20))
    with pytest.raises(LiveError) as caught:
        get_application(endpoint(argocd), "web-staging")
    assert caught.value.kind == "invalid"
    assert "more than 1000 bytes" in str(caught.value)


def test_a_redirect_is_not_followed(argocd: ArgoCDFake) -> None:
    argocd.raw(302, b"", headers={"Location": "https://sso.example.com/login"})
    with pytest.raises(LiveError) as caught:
        get_application(endpoint(argocd), "web-staging")
    assert caught.value.kind == "invalid"
    assert "redirected" in str(caught.value)
    assert len(argocd.seen) == 1


def test_tls_with_the_ca_file(argocd_tls: ArgoCDFake) -> None:
    argocd_tls.add(states.synced_healthy())
    assert argocd_tls.url.startswith("https://127.0.0.1:")
    assert get_application(endpoint(argocd_tls), "web-staging") is not None


def test_tls_is_verified_by_default(argocd_tls: ArgoCDFake) -> None:
    argocd_tls.add(states.synced_healthy())
    untrusted = ArgoCDEndpoint(argocd_tls.url, TOKEN)
    with pytest.raises(LiveError) as caught:
        get_application(untrusted, "web-staging", sleep=no_sleep)
    assert caught.value.kind == "unreachable"
    assert "TLS handshake failed" in str(caught.value)
    assert all(seen.authorization is None for seen in argocd_tls.seen)  # nothing got through


def test_https_to_a_plain_http_server_fails_the_handshake(argocd: ArgoCDFake) -> None:
    wrong = ArgoCDEndpoint(argocd.url.replace("http://", "https://"), TOKEN)
    with pytest.raises(LiveError) as caught:
        get_application(wrong, "web-staging", sleep=no_sleep)
    assert caught.value.kind == "unreachable"
    assert "TLS handshake failed" in str(caught.value)


def test_a_missing_ca_file_is_the_users_to_fix(argocd_tls: ArgoCDFake, tmp_path: Path) -> None:
    missing = ArgoCDEndpoint(argocd_tls.url, TOKEN, ca_file=str(tmp_path / "nope.pem"))
    with pytest.raises(UserError) as caught:
        get_application(missing, "web-staging")
    assert "does not exist" in str(caught.value)
    assert argocd_tls.seen == []


def test_a_ca_file_that_is_not_a_certificate_fails_the_handshake(
    argocd_tls: ArgoCDFake, tmp_path: Path
) -> None:
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(LiveError) as caught:
        get_application(ArgoCDEndpoint(argocd_tls.url, TOKEN, ca_file=str(garbage)), "web-staging")
    assert caught.value.kind == "unreachable"


def test_insecure_on_loopback_skips_verification(argocd_tls: ArgoCDFake) -> None:
    argocd_tls.add(states.synced_healthy())
    insecure = ArgoCDEndpoint(argocd_tls.url, TOKEN, insecure=True)
    assert get_application(insecure, "web-staging") is not None


@pytest.mark.parametrize(
    ("server", "insecure", "why"),
    [
        ("https://argocd.example.com", True, "cannot skip TLS verification"),
        ("https://10.0.0.1", True, "cannot skip TLS verification"),
        ("http://argocd.example.com", False, "plain http"),
        ("http://127.0.0.1.example.com", False, "plain http"),
        ("http://[::2]:8080", False, "plain http"),
        ("ftp://argocd.example.com", False, "not an http(s) URL"),
        ("argocd.example.com", False, "not an http(s) URL"),
        ("https://argocd.example.com?x=1", False, "query"),
        ("https://argocd.example.com:99999", False, "not a URL"),
        ("https://argocd.example.com/a b", False, "whitespace"),
    ],
)
def test_impossible_servers_are_refused_before_any_request(
    server: str, insecure: bool, why: str
) -> None:
    assert server_problem(server, insecure=insecure) is not None
    with pytest.raises(UserError) as caught:
        get_application(ArgoCDEndpoint(server, TOKEN, insecure=insecure), "web-staging")
    assert why in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "server", ["http://127.0.0.1:8080", "http://localhost", "https://[::1]:8443/argo-cd"]
)
def test_loopback_may_be_plain_http_or_insecure(server: str) -> None:
    assert server_problem(server, insecure=True) is None


def test_credentials_in_the_server_url_are_refused_and_not_echoed() -> None:
    with pytest.raises(UserError) as caught:
        get_application(
            ArgoCDEndpoint("https://admin:hunter2-pw@argocd.example.com", None), "web-staging"
        )
    assert "hunter2" not in str(caught.value)
    assert "argocd.example.com" in str(caught.value)


HOSTILE_NAMES = [
    "a/b",
    "..",
    "../secrets",
    "web?x=1",
    "web#frag",
    "web\nstaging",
    "web::error::x",
    "Web-Staging",
    "-web",
    "web-",
    "web%2Fstaging",
    "web staging",
    "",
    "x" * 254,
    "wéb",
    "https://evil.example.com/",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_are_refused_before_any_request(argocd: ArgoCDFake, name: str) -> None:
    assert name_problem(name) is not None
    with pytest.raises(UserError) as caught:
        get_application(endpoint(argocd), name)
    assert "\n" not in str(caught.value)
    assert argocd.seen == []


@pytest.mark.parametrize("namespace", ["a/b", "..", "ns?x=1", "ns\n", "a.b", "x" * 64, ""])
def test_hostile_namespaces_are_refused(argocd: ArgoCDFake, namespace: str) -> None:
    if namespace == "":
        return  # an empty namespace means "Argo CD's own": allowed
    with pytest.raises(UserError):
        get_application(endpoint(argocd), "web", namespace)
    assert argocd.seen == []


@pytest.mark.parametrize("project", ["a/b", "..", "p?x=1", "p\n", "P", ""])
def test_hostile_projects_are_refused(argocd: ArgoCDFake, project: str) -> None:
    with pytest.raises(UserError) as caught:
        get_application(endpoint(argocd), "web", project=project)
    assert "project" in str(caught.value)
    assert argocd.seen == []


def test_names_are_quoted_into_one_path_segment() -> None:
    # Defence in depth: even a name that got past validation stays one segment.
    base = ArgoCDEndpoint("https://a.example.com/base/", None)
    url = application_url(base, "a/../b?c#d", "n s", "p&q=1")
    assert url == (
        "https://a.example.com/base/api/v1/applications/a%2F..%2Fb%3Fc%23d"
        "?appNamespace=n+s&project=p%26q%3D1"
    )


def test_kubernetes_names_pass() -> None:
    assert name_problem("web-staging.v2") is None
    assert name_problem("x" * 253) is None
    assert name_problem("team-a", namespace=True) is None


SECRET = "s3cr3t-argocd-token-5e7f9a1b"


def test_the_token_never_appears_in_errors_reprs_or_logs(
    argocd: ArgoCDFake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    argocd.tokens.add(SECRET)
    argocd.add(states.synced_healthy())
    secret_endpoint = ArgoCDEndpoint(argocd.url, SECRET)
    assert SECRET not in repr(secret_endpoint)
    assert SECRET not in str(secret_endpoint)
    texts: list[str] = []

    def collect(exc: PromoteError) -> None:
        texts.extend([str(exc), repr(exc), exc.message, exc.hint or "", repr(exc.__cause__)])

    assert get_application(secret_endpoint, "web-staging") is not None
    argocd.fail(500, times=100)
    with pytest.raises(LiveError) as caught:
        get_application(secret_endpoint, "web-staging", sleep=no_sleep)
    collect(caught.value)
    argocd.reset()
    argocd.raw(200, f'{{"echo": "{SECRET}"}}'.encode())  # a hostile server echoing it
    with pytest.raises(LiveError) as caught:
        get_application(secret_endpoint, "web-staging")
    collect(caught.value)
    for bad in (
        ArgoCDEndpoint(argocd.url, SECRET + "\n"),  # a stray newline from the env var
        ArgoCDEndpoint(f"http://user:{SECRET}@argocd.example.com", SECRET),
        ArgoCDEndpoint("http://argocd.example.com", SECRET),
    ):
        with pytest.raises(UserError) as refused:
            get_application(bad, "web-staging")
        collect(refused.value)
        texts.append(repr(bad))
    texts.append(caplog.text)
    for text in texts:
        assert SECRET not in text
    # and it is registered, so everything printed is redacted
    assert secrets.redact(f"x {SECRET} y") == "x *** y"


def test_importing_costs_no_http_library() -> None:
    code = (
        "import sys, gitops_promote.adapters.argocd, gitops_promote.facts.live.argocd;"
        "print([m for m in ('requests', 'urllib3', 'ssl', 'http.client', "
        "'gitops_promote.adapters.registry') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
