"""The ``policy`` gate (pure): what the policies said about one target's rendered
documents, as gate lines on the overlay lines that produced them; and where a rendered
document came from in the overlay's files."""

from __future__ import annotations

from datetime import UTC, datetime

from gitops_promote.adapters.escape import visible
from gitops_promote.adapters.rego.model import PolicyError, PolicyFinding, PolicyOutcome
from gitops_promote.config.model import App, Config, Environment
from gitops_promote.facts.changes import ChangeSet, Edit
from gitops_promote.facts.judged import Deployed, Facts
from gitops_promote.facts.policyfacts import PolicyDocument, PolicyFacts, PolicyRun, source
from gitops_promote.plan.gates.evaluate import evaluate
from gitops_promote.plan.gates.policy import MAX_LINES, MAX_MESSAGE, policy_results
from gitops_promote.report import check as checkreport
from support.outputs import read_markdown, runner_commands

KEY = ("api", "production")
OTHER = ("worker", "production")
FILE = "apps/api/production/kustomization.yaml"
DEPLOY = PolicyDocument(
    KEY, "Deployment/api", "apps/api/production/deployment.yaml", 4, ("ghcr.io/o/api:latest",)
)
SERVICE = PolicyDocument(KEY, "Service/api", "apps/api/base/service.yaml", 3)
WORKER = PolicyDocument(OTHER, "Deployment/worker", "apps/worker/production/d.yaml", 2)
ORIGINS = {"ghcr.io/o/api:latest": (FILE, 9)}


def finding(message: str, document: int | None = 0, kind: str = "deny") -> PolicyFinding:
    return PolicyFinding(kind, "main", message, ("policy/k8s.rego",), document)  # type: ignore[arg-type]


def facts(*findings: PolicyFinding, errors: tuple[PolicyError, ...] = ()) -> PolicyFacts:
    run = PolicyRun(
        ("policy",), (KEY, OTHER), (DEPLOY, SERVICE, WORKER), PolicyOutcome(findings, errors)
    )
    return PolicyFacts((run,))


def test_a_deny_names_the_policy_message_document_and_its_line() -> None:
    (result,) = policy_results(facts(finding("Service must set a label team", 1)), KEY, file=FILE)
    assert result.blocking
    assert result.gate == "policy"
    assert result.message == "policy/k8s.rego: Service must set a label team (Service/api)"
    assert (result.file, result.line) == ("apps/api/base/service.yaml", 3)


def test_a_message_about_an_image_points_at_the_line_that_wrote_it() -> None:
    (result,) = policy_results(
        facts(finding("image 'ghcr.io/o/api:latest' uses the latest tag")),
        KEY,
        origins=ORIGINS,
        file=FILE,
        line=1,
    )
    assert (result.file, result.line) == (FILE, 9)
    (other,) = policy_results(facts(finding("no limits")), KEY, origins=ORIGINS)
    assert (other.file, other.line) == ("apps/api/production/deployment.yaml", 4)


def test_findings_of_another_targets_documents_are_not_this_targets() -> None:
    outcome = facts(finding("worker has no limits", 2))
    (passed,) = policy_results(outcome, KEY)
    assert passed.passed
    assert passed.message == "2 rendered document(s) pass the policies of policy"
    (failed,) = policy_results(outcome, OTHER)
    assert failed.blocking
    assert "(Deployment/worker)" in failed.message


def test_warnings_are_warning_lines_and_the_target_passes() -> None:
    results = policy_results(facts(finding("consider a PodDisruptionBudget", 0, "warn")), KEY)
    assert [(r.passed, r.severity) for r in results] == [(True, "error"), (False, "warning")]
    assert not any(r.blocking for r in results)
    assert results[0].message.endswith("(1 warning(s))")


def test_violation_fails_and_another_namespace_is_named() -> None:
    found = PolicyFinding("violation", "k8s.limits", "no limits", ("policy/l.rego",), 0)
    (result,) = policy_results(facts(found), KEY)
    assert result.blocking
    assert result.message.startswith("policy/l.rego [k8s.limits]: no limits")


def test_evaluation_errors_fail_naming_the_policy() -> None:
    errors = (
        PolicyError("timeout", "policy/loop.rego: ran past 2s", ("policy/loop.rego",)),
        PolicyError("crash", "policy/seg.rego: segmentation fault", ("policy/seg.rego",)),
        PolicyError("compile", "policy/bad.rego:3: rego_parse_error", ("policy/bad.rego",)),
    )
    results = policy_results(facts(errors=errors), KEY)
    assert all(r.blocking for r in results)
    assert [r.file for r in results] == ["policy/loop.rego", "policy/seg.rego", "policy/bad.rego"]
    assert results[0].message.startswith("policy/loop.rego ran past the time limit")
    assert "crashed the policy engine" in results[1].message
    assert "does not compile" in results[2].message


def test_combine_findings_belong_to_the_run_target() -> None:
    run = PolicyRun(
        ("policy",), (KEY,), (DEPLOY, SERVICE), PolicyOutcome((finding("x", None),)), combine=True
    )
    (result,) = policy_results(PolicyFacts((run,)), KEY, file=FILE, line=2)
    assert result.message == "policy/k8s.rego: x"
    assert (result.file, result.line) == (FILE, 2)


def test_not_evaluated_is_a_warning_and_no_policies_is_no_line() -> None:
    skipped = PolicyFacts(skipped={KEY: "production did not render"})
    (result,) = policy_results(skipped, KEY, file=FILE)
    assert not result.passed
    assert result.severity == "warning"
    assert result.message == "policies not evaluated: production did not render"
    assert policy_results(None, KEY) == []
    assert policy_results(PolicyFacts(), KEY) == []


def test_many_messages_are_counted_and_huge_ones_clipped() -> None:
    many = [finding(f"rule {i}") for i in range(MAX_LINES + 5)]
    many.append(finding("same"))
    many.append(finding("same"))  # said twice: shown once
    many.append(finding("x" * 100_000))
    results = policy_results(facts(*many), KEY)
    assert len(results) == MAX_LINES + 1
    assert results[-1].message.startswith("and 7 more policy message(s) (7 failing)")
    assert results[-1].blocking
    huge = policy_results(facts(finding("x" * 100_000)), KEY)[0]
    assert len(huge.message) < MAX_MESSAGE + 100


HOSTILE = "bad\n::error::pwned\x1b[31m ##[error]x `|</details><!-- @org/team\n# fake heading"


def test_hostile_messages_are_escaped_wherever_the_check_prints_them() -> None:
    """A rule's message holding newlines, workflow commands, ANSI and markdown runs no
    command and fakes no heading in the text, the annotations, the summary and the
    comment; --json keeps it exactly."""
    config = Config(
        (Environment(name="production", path="apps/{app}/production", mode="pull-request"),),
        (App(name="api", image="ghcr.io/o/api"),),
    )
    edit = Edit("api", "production", FILE, 3, "overlay")
    result = evaluate(
        Facts(
            config=config,
            changes=ChangeSet(files=(FILE,), pins=(), edits=(edit,), unmapped=()),
            now=datetime(2026, 11, 3, 13, tzinfo=UTC),
            deployed={KEY: Deployed((), ())},
            policies=facts(finding(HOSTILE)),
        )
    )
    assert not result.passed
    (policy,) = [r for r in result.results if r.gate == "policy"]
    assert HOSTILE in policy.message
    text = checkreport.text(result)
    assert runner_commands(text) == []
    assert visible(HOSTILE).replace("##[", "##\\[") in text
    for annotation in checkreport.annotations_of(result):
        assert "\n" not in annotation.title
    for markdown in (checkreport.summary(result), checkreport.comment(result)):
        doc = read_markdown(markdown)
        assert not doc.unclosed
        assert not [line for line in doc.prose if line.lstrip().startswith("# fake")]
        assert "@org" not in markdown.replace("@&#8203;org", "")
    assert checkreport.to_json(result)["results"][-1]["message"] == policy.message


# -- where a document came from ------------------------------------------------------------

BASE = """apiVersion: v1
kind: Service
metadata:
  name: api
---
apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    name: not-this
  name: api
spec:
  template:
    spec:
      containers:
        - name: api
"""
PATCH = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    spec:
      containers:
        - name: api
          resources: {}
"""


def test_source_finds_the_kind_and_name_in_a_multi_document_file() -> None:
    texts = [("base/app.yaml", BASE)]
    assert source("Deployment", "api", texts) == ("base/app.yaml", 11)
    assert source("Service", "api", texts) == ("base/app.yaml", 4)
    assert source("ConfigMap", "api", texts) is None


def test_source_prefers_the_first_file_and_its_changed_line() -> None:
    texts = [("prod/patch.yaml", PATCH), ("base/app.yaml", BASE)]
    assert source("Deployment", "api", texts) == ("prod/patch.yaml", 4)
    assert source("Deployment", "api", texts, {"prod/patch.yaml": [10]}) == ("prod/patch.yaml", 10)
    assert source("Deployment", "api", texts, {"prod/patch.yaml": [99]}) == ("prod/patch.yaml", 4)
    assert source("Deployment", "api", texts, {"prod/patch.yaml": [1]}) == ("prod/patch.yaml", 4)


def test_source_finds_a_name_kustomize_prefixed() -> None:
    assert source("Deployment", "prod-api-v2", [("base/app.yaml", BASE)]) == ("base/app.yaml", 11)
    assert source("Deployment", "other", [("base/app.yaml", BASE)]) is None
