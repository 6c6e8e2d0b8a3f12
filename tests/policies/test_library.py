"""The policy library (tests/policies/library/policy: deny latest tags, require limits and
labels, forbid privileged containers and hostPath, allow-listed registries from a data
file, a warn rule, one old-syntax rule) on real-world overlays rendered by kustomize, with
the verdicts worked out by hand from the manifests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gitops_promote.adapters.rego import PolicyModule, evaluate
from gitops_promote.facts import policies
from policies.conftest import LIBRARY, Rendered

Verdict = tuple[str, str, str, str]  # (kind, document Kind/name, message, policy file)


@pytest.fixture(scope="module")
def library() -> policies.PolicySet:
    found = policies.load(policies.WorkFiles(LIBRARY), ["policy"])
    assert found.problems == ()
    return found


def verdicts(found: policies.PolicySet, documents: Rendered) -> set[Verdict]:
    outcome = evaluate(found.modules, found.data, documents)
    assert outcome.errors == ()
    out: set[Verdict] = set()
    for finding in outcome.findings:
        assert finding.document is not None
        doc = documents[finding.document]
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        (file,) = finding.files  # each message names the one file whose rule produced it
        out.add((finding.kind, where, finding.message, file))
    return out


def no_limits(kind: str, name: str, container: str) -> Verdict:
    message = f"{kind} {name}: container {container} has no resources.limits"
    return ("deny", f"{kind}/{name}", message, "policy/limits.rego")


def latest(kind: str, name: str, container: str, image: str) -> Verdict:
    message = f"{kind} {name}: container {container} uses {image}; pin a version tag or a digest"
    return ("deny", f"{kind}/{name}", message, "policy/latest.rego")


def no_label(kind: str, name: str) -> Verdict:
    return ("deny", f"{kind}/{name}", f"{kind} {name} has no label name", "policy/labels.rego")


def foreign(kind: str, name: str, container: str, image: str) -> Verdict:
    message = f"{kind} {name}: container {container} runs {image}, not from an allowed registry"
    return ("deny", f"{kind}/{name}", message, "policy/registries.rego")


def single_replica(kind: str, name: str) -> Verdict:
    message = f"{kind} {name} runs a single replica"
    return ("warn", f"{kind}/{name}", message, "policy/replicas.rego")


def violation(kind: str, name: str, what: str) -> Verdict:
    return ("violation", f"{kind}/{name}", f"{kind} {name}: {what}", "policy/security.rego")


def test_sock_shop_breaks_the_latest_limits_labels_and_registry_rules(
    library: policies.PolicySet, rendered: Callable[[str], Rendered]
) -> None:
    """Argo CD's sock-shop (29 manifests): mongo and the rabbitmq exporter run untagged,
    seven containers have no limits, front-end has no `name` label, five images come from
    Docker Hub's library or another account; each of the 14 Deployments warns (1 replica);
    the Services and the Ingress pass."""
    found = verdicts(library, rendered("sock-shop"))
    fails = {v for v in found if v[0] != "warn"}
    assert fails == {
        *(no_limits("Deployment", d, c) for d, c in (
            ("carts-db", "carts-db"), ("catalogue-db", "catalogue-db"),
            ("orders-db", "orders-db"), ("rabbitmq", "rabbitmq"),
            ("rabbitmq", "rabbitmq-exporter"), ("session-db", "session-db"),
            ("user-db", "user-db"),
        )),
        latest("Deployment", "carts-db", "carts-db", "mongo"),
        latest("Deployment", "orders-db", "orders-db", "mongo"),
        latest("Deployment", "rabbitmq", "rabbitmq-exporter", "kbudde/rabbitmq-exporter"),
        no_label("Deployment", "front-end"),
        foreign("Deployment", "carts-db", "carts-db", "mongo"),
        foreign("Deployment", "orders-db", "orders-db", "mongo"),
        foreign("Deployment", "rabbitmq", "rabbitmq", "rabbitmq:3.6.8-management"),
        foreign("Deployment", "rabbitmq", "rabbitmq-exporter", "kbudde/rabbitmq-exporter"),
        foreign("Deployment", "session-db", "session-db", "redis:alpine"),
    }  # fmt: skip
    warns = {v for v in found if v[0] == "warn"}
    assert len(warns) == 14
    assert all(v[3] == "policy/replicas.rego" and "single replica" in v[2] for v in warns)


def test_kargo_guestbook_runs_latest_without_limits_or_labels(
    library: policies.PolicySet, rendered: Callable[[str], Rendered]
) -> None:
    """Kargo's prod-west overlay: a Namespace, a Service and a Deployment of
    guestbook:latest, from an allowed registry, without limits or labels."""
    assert verdicts(library, rendered("guestbook-prod-west")) == {
        no_label("Deployment", "guestbook"),
        latest("Deployment", "guestbook", "guestbook", "ghcr.io/akuity/guestbook:latest"),
        no_limits("Deployment", "guestbook", "guestbook"),
        single_replica("Deployment", "guestbook"),
    }


def test_init_containers_and_cron_jobs_are_judged_too(
    library: policies.PolicySet, rendered: Callable[[str], Rendered]
) -> None:
    """A Deployment with two containers and two initContainers, and a CronJob: every
    container of every kind of pod template is checked; the pinned digests and the v7 tag
    pass the latest rule; busybox is not from an allowed registry."""
    found = verdicts(library, rendered("api-production"))
    assert {(v[1], v[2]) for v in found if v[3] == "policy/limits.rego"} == {
        ("Deployment/api", f"Deployment api: container {name} has no resources.limits")
        for name in ("api", "proxy", "migrate", "wait")
    } | {("CronJob/cleanup", "CronJob cleanup: container cleanup has no resources.limits")}
    assert not [v for v in found if v[3] == "policy/latest.rego"]
    assert {v[2] for v in found if v[3] == "policy/registries.rego"} == {
        "Deployment api: container wait runs busybox:1.36, not from an allowed registry"
    }
    assert (
        "deny",
        "Deployment/api",
        "Deployment api has no label name",
        "policy/labels.rego",
    ) in found


def test_a_privileged_node_agent_with_the_host_root_mounted_is_two_violations(
    library: policies.PolicySet, rendered: Callable[[str], Rendered]
) -> None:
    """node-exporter's DaemonSet: privileged, `/` mounted from the host: two `violation`
    objects (their `msg`), and quay.io is not an allowed registry; tagged by the overlay's
    images: entry, with limits and its label, it passes the other rules."""
    ds, name = "DaemonSet", "node-exporter"
    assert verdicts(library, rendered("node-agent")) == {
        violation(ds, name, "container node-exporter is privileged"),
        violation(ds, name, "volume root mounts the host path /"),
        foreign(ds, name, name, "quay.io/prometheus/node-exporter:v1.8.2"),
    }


def test_the_allow_list_comes_from_the_data_file(
    library: policies.PolicySet, rendered: Callable[[str], Rendered]
) -> None:
    """The same policies with quay.io/prometheus/ added to data.allowed_registries: the
    registry rule passes the node agent; nothing else changes."""
    registries = [*library.data["allowed_registries"], "quay.io/prometheus/"]
    data = {**library.data, "allowed_registries": registries}
    widened = policies.PolicySet(library.modules, library.tests, data)
    assert {v[3] for v in verdicts(widened, rendered("node-agent"))} == {"policy/security.rego"}


def test_the_combined_input_is_the_list_of_all_documents(
    library: policies.PolicySet, rendered: Callable[[str], Rendered]
) -> None:
    """combine: one input, the list; the library's rules read one document, so a rule
    written for the list is what answers (here: a Service for every Deployment)."""
    rule = """package combined
import rego.v1
deny contains msg if {
	some d in input
	d.kind == "Deployment"
	not service_for(d.metadata.name)
	msg := sprintf("Deployment %s has no Service", [d.metadata.name])
}
service_for(name) if {
	some s in input
	s.kind == "Service"
	s.metadata.name == name
}
"""
    outcome = evaluate(
        [PolicyModule("policy/combined.rego", rule)],
        {},
        rendered("sock-shop"),
        namespaces=["combined"],
        combine=True,
    )
    assert outcome.errors == ()
    assert [(f.message, f.document) for f in outcome.findings] == []
    documents = [
        d
        for d in rendered("sock-shop")
        if (d["kind"], d["metadata"]["name"]) != ("Service", "carts-db")
    ]
    outcome = evaluate(
        [PolicyModule("policy/combined.rego", rule)],
        {},
        documents,
        namespaces=["combined"],
        combine=True,
    )
    assert [(f.message, f.document) for f in outcome.findings] == [
        ("Deployment carts-db has no Service", None)
    ]
