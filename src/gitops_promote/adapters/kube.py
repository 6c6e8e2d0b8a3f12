"""Read one Flux object (a Kustomization or a HelmRelease) from the Kubernetes API.

Access is described by :class:`KubeAccess`: a kubeconfig file, a kubeconfig's text (from an
environment variable), or neither, for the in-cluster service account. ``lightkube``
parses the kubeconfig and builds the TLS context and credentials exactly as the kubeconfig
says (its CA, client certificate, token; ``insecure-skip-tls-verify`` only when the
kubeconfig sets it); the one GET is sent through the HTTP client it builds, so that status
codes and the answer's shape are judged here. ``lightkube`` is imported only when a Flux
object is read: commands without live state never pay for it.

Errors:

- the kubeconfig is unusable (unreadable, not YAML, no such context, an exec credential
  plugin, a missing CA file): :class:`KubeconfigError`, a :class:`~gitops_promote.errors.
  UserError` (exit 2) naming the file or variable and what is wrong, whatever the env's
  ``live.on-error`` says: it is the user's configuration, not the cluster, that failed;
- a bad object name or namespace (not a Kubernetes name): :class:`~gitops_promote.errors.
  InputError` (exit 2);
- the API did not give the object: :class:`~gitops_promote.errors.LiveError` with ``kind``
  ``unauthorized`` (401), ``forbidden`` (403), ``unreachable`` (no connection, timeout,
  TLS failure, 429/5xx after ``retries`` more attempts with backoff) or ``invalid`` (an
  answer that is not the object asked for, e.g. the Flux API is not installed).

HTTP goes through ``httpx`` as lightkube configures it: proxies from ``HTTPS_PROXY`` /
``NO_PROXY`` apply (as for kubectl); the CA is the kubeconfig's alone (its
``certificate-authority``, else the system's store); redirects are not followed.

A 404 for the object itself is ``None`` (the env's object is missing: a reading, not a
failure). Every credential (token, password, client key, the kubeconfig text) is
registered with :func:`gitops_promote.adapters.secrets.register` before anything can fail,
and no message quotes one.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import random
import re
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import urlsplit

from gitops_promote.adapters import secrets
from gitops_promote.errors import InputError, LiveError, UserError, clip, quote

if TYPE_CHECKING:
    import httpx2
    from lightkube.config.kubeconfig import SingleConfig

FluxKind = Literal["Kustomization", "HelmRelease"]


@dataclass(frozen=True)
class FluxApi:
    """Where the API serves one Flux kind."""

    group: str
    version: str
    plural: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


FLUX_APIS: Final[dict[str, FluxApi]] = {
    "Kustomization": FluxApi("kustomize.toolkit.fluxcd.io", "v1", "kustomizations"),
    "HelmRelease": FluxApi("helm.toolkit.fluxcd.io", "v2", "helmreleases"),
}

SERVICE_ACCOUNT: Final = Path("/var/run/secrets/kubernetes.io/serviceaccount")
RETRIES: Final = 3  # more attempts after a connection failure, timeout, 429 or 5xx
BACKOFF: Final = 0.5  # seconds before the first retry, doubled each time (with jitter)
MAX_BACKOFF: Final = 8.0
RETRY_STATUS: Final = frozenset({429, 500, 502, 503, 504})
MAX_ANSWER: Final = 8 * 1024 * 1024  # bytes of one object; a bigger answer is not one

# Kubernetes object names (DNS-1123 subdomain) and namespaces (DNS-1123 label).
_SUBDOMAIN: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


@dataclass(frozen=True)
class KubeAccess:
    """How to reach one cluster's API.

    ``kubeconfig``: path of a kubeconfig file; ``kubeconfig_text``: a kubeconfig's content
    (from an environment variable; never shown); neither: the in-cluster service account
    (``KUBERNETES_SERVICE_HOST``/``_PORT`` and the files under
    /var/run/secrets/kubernetes.io/serviceaccount). ``context``: the kubeconfig context
    (default: its ``current-context``). ``timeout``: seconds per request. ``origin``: how
    messages name where ``kubeconfig_text`` came from, e.g. ``environment variable
    FLUX_KUBECONFIG`` (default ``the kubeconfig text``). ``service_account``: the service
    account directory for in-cluster access (tests)."""

    kubeconfig: str | None = None
    kubeconfig_text: str | None = field(default=None, repr=False)
    context: str | None = None
    timeout: float = 10.0
    origin: str = ""
    service_account: str = str(SERVICE_ACCOUNT)

    def source(self) -> str:
        """Where the configuration comes from, for messages."""
        if self.kubeconfig_text is not None:
            return self.origin or "the kubeconfig text"
        if self.kubeconfig is not None:
            return f"kubeconfig {self.kubeconfig}"
        return "the in-cluster service account"


class KubeconfigError(UserError):
    """The kubeconfig (file, variable or in-cluster files) cannot be used (exit 2)."""


def check_name(value: str, what: str, *, label: bool = False) -> str:
    """``value`` when it is a Kubernetes object name (DNS-1123 subdomain, at most 253
    characters) or, with ``label``, a namespace (DNS-1123 label, at most 63); else
    :class:`InputError`. Nothing else reaches a URL path."""
    pattern, limit = (_LABEL, 63) if label else (_SUBDOMAIN, 253)
    if isinstance(value, str) and len(value) <= limit and pattern.fullmatch(value):
        return value
    kind = "a DNS-1123 label" if label else "a DNS-1123 subdomain"
    raise InputError(
        f"{what} {quote(value)} is not a Kubernetes name",
        hint=f"use {kind}: lowercase letters, digits and '-'"
        + ("" if label else " or '.'")
        + f", at most {limit} characters",
    )


def get_flux_object(
    access: KubeAccess,
    kind: FluxKind,
    name: str,
    namespace: str,
    *,
    retries: int = RETRIES,
    backoff: float = BACKOFF,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any] | None:
    """The Flux object ``kind`` ``namespace/name`` as a plain dict, or None when the API
    says it does not exist (404 naming it). Raises :class:`KubeconfigError`,
    :class:`InputError` or :class:`LiveError` as the module says."""
    api = FLUX_APIS.get(kind)
    if api is None:
        raise InputError(f"{quote(kind)} is not a Flux kind", hint="Kustomization or HelmRelease")
    check_name(name, f"{kind} name")
    check_name(namespace, f"{kind} namespace", label=True)
    config = load_config(access)
    endpoint = _endpoint(config.cluster.server)
    where = f"Kubernetes API {endpoint}" + (
        f" (context {quote(config.context_name)})"
        if access.kubeconfig or access.kubeconfig_text
        else ""
    )
    subject = f"{kind} {namespace}/{name}"
    path = f"/apis/{api.group}/{api.version}/namespaces/{namespace}/{api.plural}/{name}"
    client = _client(access, config)
    try:
        return _get(
            client, path, api, kind, name, namespace, subject, where, retries, backoff, sleep
        )
    finally:
        client.close()


def load_config(access: KubeAccess) -> SingleConfig:
    """The kubeconfig's chosen context (cluster and user), credentials registered as
    secrets; :class:`KubeconfigError` naming the source when it cannot be used."""
    from lightkube.config.kubeconfig import KubeConfig  # noqa: PLC0415 - lazy
    from lightkube.config.models import User  # noqa: PLC0415 - lazy

    source = access.source()
    if access.kubeconfig_text is not None:
        secrets.register(access.kubeconfig_text)
        conf = _parse(access.kubeconfig_text, source)
        kubeconfig = _from_dict(KubeConfig, conf, source, None)
    elif access.kubeconfig is not None:
        path = Path(access.kubeconfig).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise KubeconfigError(
                f"{source}: cannot read it ({_os_reason(err)})",
                hint="point the Flux kubeconfig setting at a readable kubeconfig file",
            ) from None
        conf = _parse(text, source)
        kubeconfig = _from_dict(KubeConfig, conf, source, path)
    else:
        kubeconfig = _in_cluster(access)
    try:
        config = kubeconfig.get(access.context)
    except Exception as err:  # noqa: BLE001 - lightkube: ConfigError or KeyError
        raise KubeconfigError(
            f"{source}: {_context_problem(kubeconfig, access.context, err)}",
            hint="name an existing context (kubectl config get-contexts)",
        ) from None
    if config is None:  # pragma: no cover - get() without a default never returns None
        raise KubeconfigError(f"{source}: no context", hint="set current-context")
    user = config.user
    if user is not None and user.exec is not None:
        raise KubeconfigError(
            f"{source}: context {quote(config.context_name)} authenticates with an exec "
            "credential plugin, which gitops-promote does not run",
            hint="give a kubeconfig with a token or a client certificate (e.g. a service "
            "account token)",
        )
    if user is not None and user.auth_provider is not None:
        raise KubeconfigError(
            f"{source}: context {quote(config.context_name)} uses an auth-provider, which "
            "is not supported",
            hint="give a kubeconfig with a token or a client certificate",
        )
    if user is not None and user.token_file is not None:
        token_file = Path(str(config.abs_file(user.token_file)))
        try:
            secrets.register(token_file.read_text(encoding="utf-8").strip())
        except (OSError, UnicodeDecodeError) as err:
            raise KubeconfigError(
                f"{source}: cannot read the tokenFile of context "
                f"{quote(config.context_name)} ({_os_reason(err)})",
                hint="check the tokenFile path",
            ) from None
    server = config.cluster.server
    parts = urlsplit(server) if isinstance(server, str) else None
    if parts is None or parts.scheme not in ("https", "http") or not parts.hostname:
        raise KubeconfigError(
            f"{source}: cluster server of context {quote(config.context_name)} is not an https URL",
            hint="set clusters[].cluster.server to the API server's https:// URL",
        )
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "::1", "localhost"):
        raise KubeconfigError(
            f"{source}: cluster server {_endpoint(server)} is plain http; credentials "
            "would cross the network unencrypted",
            hint="use the API server's https:// URL",
        )
    chosen: SingleConfig = config if user is not None else config._replace(user=User())
    return chosen


def _parse(text: str, source: str) -> dict[str, Any]:
    """The kubeconfig's YAML as plain values (through :mod:`.yamlsafe`: no alias bombs,
    duplicate keys or extra documents). The message gives the line, never the text: a
    kubeconfig line may be a credential."""
    from gitops_promote.adapters.yamlcheck import YamlError  # noqa: PLC0415 - lazy
    from gitops_promote.adapters.yamlsafe import load, plain  # noqa: PLC0415 - lazy

    try:
        conf = plain(load(text, source))
    except YamlError as err:
        at = f" at line {err.line}" if err.line is not None else ""
        raise KubeconfigError(
            f"{source}: not valid YAML{at}", hint="give a kubeconfig file's content"
        ) from None
    if not isinstance(conf, dict):
        raise KubeconfigError(
            f"{source}: not a kubeconfig (a YAML mapping with clusters, contexts and users "
            "is expected)",
            hint="give a kubeconfig file's content",
        )
    return conf


def _register_users(conf: dict[str, Any]) -> None:
    """Register every credential a kubeconfig's users carry, before anything can fail."""
    users = conf.get("users")
    if not isinstance(users, list):
        return
    for entry in users:
        user = entry.get("user") if isinstance(entry, dict) else None
        if not isinstance(user, dict):
            continue
        for key in ("token", "password", "client-key-data"):
            value = user.get(key)
            if isinstance(value, str):
                secrets.register(value)
                if key == "client-key-data":  # and the PEM it encodes
                    with contextlib.suppress(ValueError):
                        secrets.register(base64.b64decode(value).decode("ascii").strip())


def _from_dict(factory: Any, conf: dict[str, Any], source: str, path: Path | None) -> Any:
    _register_users(conf)
    for key in ("clusters", "contexts"):
        if not isinstance(conf.get(key), list):
            raise KubeconfigError(
                f"{source}: not a kubeconfig ({key} is missing or not a list)",
                hint="give a kubeconfig file's content",
            )
    try:
        return factory.from_dict(conf, fname=path)
    except Exception as err:  # noqa: BLE001 - msgspec/KeyError/TypeError on a bad shape
        raise KubeconfigError(
            f"{source}: not a valid kubeconfig ({_shape_problem(err)})",
            hint="check clusters[].cluster, contexts[].context and users[].user",
        ) from None


def _in_cluster(access: KubeAccess) -> Any:
    from lightkube.config.kubeconfig import KubeConfig  # noqa: PLC0415 - lazy

    host = os.environ.get("KUBERNETES_SERVICE_HOST", "")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        raise KubeconfigError(
            "no kubeconfig given and not running inside a cluster "
            "(KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set)",
            hint="set the Flux kubeconfig (a file, or an environment variable holding it)",
        )
    account = Path(access.service_account)
    try:
        secrets.register((account / "token").read_text(encoding="utf-8").strip())
        return KubeConfig.from_service_account(service_account=account)
    except Exception as err:  # noqa: BLE001 - OSError or lightkube's ConfigError
        raise KubeconfigError(
            f"the in-cluster service account ({account}) cannot be read ({_os_reason(err)})",
            hint="mount the service account token (automountServiceAccountToken) or give "
            "a kubeconfig",
        ) from None


def _client(access: KubeAccess, config: SingleConfig) -> httpx2.Client:
    import httpx2  # noqa: PLC0415 - lazy
    from lightkube.config import client_adapter  # noqa: PLC0415 - lazy

    params = client_adapter.ConnectionParams(timeout=httpx2.Timeout(access.timeout))
    try:
        client = client_adapter.Client(config, params)
    except Exception as err:  # noqa: BLE001 - ssl/OSError/binascii/ConfigError
        raise KubeconfigError(
            f"{access.source()}: the TLS settings of context {quote(config.context_name)} "
            f"cannot be used ({_tls_problem(err)})",
            hint="check certificate-authority(-data), client-certificate(-data) and "
            "client-key(-data)",
        ) from None
    client.headers["User-Agent"] = "gitops-promote"
    client.headers["Accept"] = "application/json"
    return client


def _get(
    client: httpx2.Client,
    path: str,
    api: FluxApi,
    kind: str,
    name: str,
    namespace: str,
    subject: str,
    where: str,
    retries: int,
    backoff: float,
    sleep: Callable[[float], None],
) -> dict[str, Any] | None:
    import httpx2  # noqa: PLC0415 - lazy
    from lightkube.core.exceptions import ConfigError  # noqa: PLC0415 - lazy

    failure = ""
    attempts = max(0, retries) + 1
    for attempt in range(attempts):
        try:
            status, raw = _fetch(client, path)
        except ConfigError:  # the tokenFile went away between two reads
            raise KubeconfigError(
                f"{where}: the kubeconfig's tokenFile cannot be read any more",
                hint="check the tokenFile path (or the mounted service account token)",
            ) from None
        except httpx2.TimeoutException:
            failure = f"no answer within {_seconds(client.timeout.read)}"
        except httpx2.TransportError as err:
            if _tls_refused(err):
                raise LiveError(
                    f"{where}: TLS verification failed reading {subject}",
                    kind="unreachable",
                    hint="the server's certificate does not match the kubeconfig's "
                    "certificate-authority; check the cluster's CA",
                ) from None
            failure = f"connection failed ({type(err).__name__})"
        else:
            if status not in RETRY_STATUS:
                return _answer(status, raw, api, kind, name, namespace, subject, where)
            failure = f"HTTP {status}"
        if attempt < attempts - 1:
            wait: float = min(MAX_BACKOFF, max(0.0, backoff) * (2**attempt))
            sleep(wait * (0.5 + random.random()))  # noqa: S311 - jitter
    raise LiveError(
        secrets.redact(f"{where}: reading {subject} failed after {attempts} attempt(s): {failure}"),
        kind="unreachable",
        hint="the cluster API or the network is failing; re-run later",
    )


def _fetch(client: httpx2.Client, path: str) -> tuple[int, bytes | None]:
    """The GET's status and body (None when the body is larger than MAX_ANSWER: read no
    further than that)."""
    with client.stream("GET", path) as response:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_ANSWER:
                return response.status_code, None
            chunks.append(chunk)
        return response.status_code, b"".join(chunks)


def _answer(
    status: int,
    raw: bytes | None,
    api: FluxApi,
    kind: str,
    name: str,
    namespace: str,
    subject: str,
    where: str,
) -> dict[str, Any] | None:
    if raw is None:
        raise LiveError(
            f"{where}: the answer reading {subject} is larger than {MAX_ANSWER >> 20} MiB",
            kind="invalid",
            hint="check the cluster server URL in the kubeconfig",
        )
    body = _json(raw)
    said = _status_message(body)
    if status == 401:
        raise LiveError(
            f"{where}: the credentials were refused reading {subject} (HTTP 401)",
            kind="unauthorized",
            hint="the kubeconfig's token or client certificate is not valid for this cluster",
        )
    if status == 403:
        raise LiveError(
            secrets.redact(f"{where}: not allowed to read {subject} (HTTP 403{said})"),
            kind="forbidden",
            hint=f"grant get on {api.plural}.{api.group} in the namespace (a Role and "
            "RoleBinding for the identity the kubeconfig uses)",
        )
    if status == 404:
        details = body.get("details") if isinstance(body, dict) else None
        if isinstance(details, dict) and details.get("name") == name:
            return None
        raise LiveError(
            secrets.redact(
                f"{where}: the API does not serve {api.plural}.{api.api_version} "
                f"(HTTP 404{said}) reading {subject}"
            ),
            kind="invalid",
            hint=f"is Flux installed on this cluster, with the {api.api_version} API?",
        )
    if status != 200:
        raise LiveError(
            secrets.redact(f"{where}: reading {subject} was answered HTTP {status}{said}"),
            kind="invalid",
            hint="check the cluster server URL in the kubeconfig",
        )
    if not isinstance(body, dict):
        raise LiveError(
            f"{where}: the answer reading {subject} is not a JSON object",
            kind="invalid",
            hint="check the cluster server URL in the kubeconfig",
        )
    metadata = body.get("metadata")
    meta = metadata if isinstance(metadata, dict) else {}
    got_name, got_namespace = meta.get("name"), meta.get("namespace")
    if (
        body.get("kind") != kind
        or body.get("apiVersion") != api.api_version
        or got_name != name
        or got_namespace != namespace
    ):
        got = f"{body.get('kind')!s} {body.get('apiVersion')!s} {got_namespace!s}/{got_name!s}"
        raise LiveError(
            secrets.redact(
                f"{where}: the answer reading {subject} is another object ({quote(got)})"
            ),
            kind="invalid",
            hint="check the cluster server URL in the kubeconfig",
        )
    return body


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def _status_message(body: Any) -> str:
    """``: <message>`` from a Kubernetes Status answer (quoted, one line), or ``""``."""
    if isinstance(body, dict) and body.get("kind") == "Status":
        message = body.get("message")
        if isinstance(message, str) and message:
            return f": {quote(message, 200)}"
    return ""


def _endpoint(server: Any) -> str:
    """The API server as messages show it: scheme://host[:port], no userinfo or path."""
    try:
        parts = urlsplit(str(server))
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return quote(str(server))
    host = f"[{host}]" if ":" in host else host
    return clip(f"{parts.scheme}://{host}{port}")


def _seconds(value: float | None) -> str:
    return "the timeout" if value is None else f"{value:g}s"


def _tls_refused(err: Exception) -> bool:
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(
            current
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


def _os_reason(err: BaseException) -> str:
    if isinstance(err, FileNotFoundError):
        return "no such file"
    if isinstance(err, PermissionError):
        return "permission denied"
    if isinstance(err, IsADirectoryError):
        return "it is a directory"
    if isinstance(err, UnicodeDecodeError):
        return "not UTF-8 text"
    return type(err).__name__


def _tls_problem(err: BaseException) -> str:
    if isinstance(err, FileNotFoundError):
        return f"no such file: {quote(str(err.filename))}" if err.filename else "no such file"
    if isinstance(err, ssl.SSLError):
        return f"not a usable certificate or key ({clip(err.reason or 'SSL error', 60)})"
    if isinstance(err, ValueError):
        return "certificate or key data is not valid base64"
    return type(err).__name__


def _shape_problem(err: BaseException) -> str:
    if isinstance(err, KeyError):
        return f"missing {quote(str(err.args[0]) if err.args else '?')}"
    text = secrets.redact(str(err).splitlines()[0] if str(err) else type(err).__name__)
    return clip(text, 120)


def _context_problem(kubeconfig: Any, context: str | None, err: BaseException) -> str:
    if context is None and getattr(kubeconfig, "current_context", None) is None:
        return "no current-context is set and no context was named"
    contexts = sorted(str(c) for c in getattr(kubeconfig, "contexts", {}))
    wanted = context if context is not None else kubeconfig.current_context
    if wanted not in contexts:
        known = ", ".join(quote(c, 40) for c in contexts[:10]) or "none"
        return f"no context {quote(wanted)} (contexts: {known})"
    if isinstance(err, KeyError):
        return f"context {quote(wanted)} names a missing cluster or user {quote(str(err.args[0]))}"
    return clip(secrets.redact(str(err)), 120)


__all__ = [
    "FLUX_APIS",
    "FluxApi",
    "FluxKind",
    "KubeAccess",
    "KubeconfigError",
    "check_name",
    "get_flux_object",
    "load_config",
]
