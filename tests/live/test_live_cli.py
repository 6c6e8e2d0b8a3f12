"""Live state end to end through the CLI, against both fakes: the example config repo with
dev on Flux (the Kubernetes API fake) and staging on Argo CD (the Argo CD fake).

``status --live`` shows each state; a production promotion (``promote``, and ``check`` on
its pull request) is refused while staging is Degraded and allowed once Healthy; soak
counted from the sync; an unreachable controller exits 3 under ``on-error: fail`` and
warns under ``warn``; the token never shows."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from check.scenario import API, NEW_API, NEW_WORKER, OLD_API, T0, ConfigRepo, failed
from support.argocd_fake import TOKEN, ArgoCDFake
from support.argocd_fake import states as argo
from support.inprocess import cli
from support.kube_fake import KubeFake
from support.kube_fake import states as flux
from support.repos import EXAMPLE, Run

MERGED = T0 + timedelta(hours=1)  # api-service reaches staging (a Monday)
SYNCED = MERGED + timedelta(minutes=5)  # ... and Argo CD finished syncing it
LATER = T0 + timedelta(days=2)  # Wednesday: production's 24h soak met, no freeze


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def promotion_yaml(server: str, *, on_error: str = "fail", soak_from: str = "merge") -> str:
    text = (EXAMPLE / "promotion.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "    mode: push                 # CI may commit straight to main\n",
        "    mode: push                 # CI may commit straight to main\n"
        "    live:\n"
        "      flux: {kind: Kustomization, namespace: flux-system, kubeconfig-env: "
        "KUBECONFIG_DEV}\n",
    )
    text = text.replace(
        "    auto: true                 # the scheduled soak job may open this PR\n",
        "    auto: true                 # the scheduled soak job may open this PR\n"
        "    live:\n"
        f"      argocd: {{server: '{server}', namespace: argocd, project: default, "
        "token-env: ARGOCD_TOKEN, "
        "timeout: 2s}\n"
        f"      on-error: {on_error}\n",
    )
    return text.replace("    soak: 24h\n", f"    soak: 24h\n    soak-from: {soak_from}\n")


class Live:
    """The config repo, api-service on staging at ``staging`` (commit), and the fakes."""

    def __init__(self, root: Path, argocd: ArgoCDFake, kube: KubeFake, **config: str) -> None:
        self.argocd, self.kube = argocd, kube
        self.repo = ConfigRepo(root, files={"promotion.yaml": promotion_yaml(argocd.url, **config)})
        self.initial = self.repo.head()
        self.staging = self.repo.promote("api-service", "staging", f"{API}@{NEW_API}", at=MERGED)
        self.env = {"ARGOCD_TOKEN": TOKEN, "KUBECONFIG_DEV": kube.kubeconfig()}
        for app in ("api-service", "worker"):
            kube.add(flux.ks_ready(self.initial, name=f"{app}-dev"))
        self.staged(health="Healthy")

    def staged(self, **changes: Any) -> None:
        """Argo CD reports both apps of staging at the staging commit (``changes``: how)."""
        for app in ("api-service", "worker"):
            values: dict[str, Any] = {
                "revision": self.staging,
                "finished_at": iso(SYNCED),
                "started_at": iso(SYNCED - timedelta(minutes=1)),
                "reconciled_at": iso(SYNCED + timedelta(minutes=1)),
                "images": (f"{API}@{NEW_API}",),
            } | changes
            self.argocd.add(argo.application(f"{app}-staging", "argocd", **values))

    def cli(self, *args: str, check: int | None = None, **env: str) -> Run:
        run = cli(*args, "--repo", str(self.repo.root), env=self.env | env, check=check)
        assert TOKEN not in run.output
        assert self.kube.token not in run.output
        # (the fake's server thread, in this process, may print a reset connection's trace)
        assert "gitops_promote" not in run.stderr.partition("Traceback")[2]
        assert "Traceback" not in run.stdout
        return run

    def promote(self, now: datetime, *, check: int | None = None, **env: str) -> Run:
        return self.cli(
            "promote",
            "--env",
            "production",
            "--app",
            "api-service",
            "--dry-run",
            "--skip-registry-check",
            "--now",
            now.isoformat(),
            check=check,
            **env,
        )

    def check_pr(self, now: datetime, *, code: int | None = None) -> dict[str, Any]:
        run = self.repo.check("--json", now=now, head="pr", env=self.env, code=code)
        assert TOKEN not in run.output
        data: dict[str, Any] = json.loads(run.stdout)
        return data

    def open_pr(self) -> None:
        self.repo.branch("pr")
        self.repo.promote("api-service", "production", f"{API}@{NEW_API}", at=LATER)
        self.repo.switch("main")


@pytest.fixture
def live(tmp_path: Path, argocd: ArgoCDFake, kube_fake: KubeFake) -> Live:
    return Live(tmp_path / "config", argocd, kube_fake)


def test_status_live_shows_each_controller_state(live: Live) -> None:
    table = live.cli("status", "--live", check=0)
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["APP", "ENV", "TAG", "DIGEST", "SINCE", "COMMIT", "LIVE"]
    rows = {tuple(line.split()[:2]): line for line in lines[1:]}
    assert rows[("api-service", "staging")].endswith(
        f"synced {live.staging[:12]} since 2026-11-02 10:05 UTC"
    )
    assert f"synced {live.initial[:12]} since" in rows[("api-service", "dev")]
    assert rows[("api-service", "production")].endswith(" -")

    data = json.loads(live.cli("status", "--live", "--json", check=0).stdout)
    by = {(r["app"], r["env"]): r for r in data}
    staging = by[("api-service", "staging")]["live"]
    assert staging["status"] == "synced"
    assert staging["runs"] == NEW_API
    assert staging["reading"]["subject"] == "Application argocd/api-service-staging"
    assert staging["reading"]["revision"] == live.staging
    assert staging["reading"]["health"] == "Healthy"
    assert by[("worker", "staging")]["live"]["runs"] != NEW_API
    assert by[("api-service", "dev")]["live"]["reading"]["controller"] == "flux"
    assert by[("api-service", "dev")]["live"]["runs"] == OLD_API
    assert by[("api-service", "production")]["live"] is None

    live.staged(health="Degraded")
    markdown = live.cli("status", "--live", "--format", "markdown", check=0).stdout
    assert markdown.splitlines()[0].endswith("| Live |")
    assert f"degraded {live.staging[:12]} since 2026-11-02 10:05 UTC" in markdown


def test_status_without_live_has_no_live_column(live: Live) -> None:
    table = live.cli("status", check=0)
    assert "LIVE" not in table.stdout.splitlines()[0]
    assert all("live" not in row for row in json.loads(live.cli("status", "--json").stdout))


def test_production_is_refused_while_staging_is_degraded_and_allowed_once_healthy(
    live: Live,
) -> None:
    live.staged(health="Degraded")
    refused = live.promote(LATER, check=1)
    assert "staging is degraded, so sha256:" in refused.stderr
    assert "Application argocd/api-service-staging is Synced/Degraded" in refused.stderr
    assert f"at {live.staging[:12]} since Mon 2026-11-02 10:05 UTC" in refused.stderr
    live.open_pr()
    assert ("live", "api-service", "production") in failed(live.check_pr(LATER, code=1))

    live.staged(health="Progressing")
    assert "staging is progressing" in live.promote(LATER, check=1).stderr

    live.staged(health="Healthy")
    allowed = live.promote(LATER, check=0)
    assert "production" in allowed.stdout
    assert failed(live.check_pr(LATER, code=0)) == []


def test_a_stale_or_out_of_sync_staging_refuses(live: Live) -> None:
    live.staged(reconciled_at=iso(SYNCED - timedelta(minutes=3)))
    assert "the reading is stale" in live.promote(LATER, check=1).stderr
    live.staged(sync="OutOfSync")
    assert "staging is out-of-sync" in live.promote(LATER, check=1).stderr


def test_staging_synced_at_another_commit_refuses(live: Live) -> None:
    live.staged(revision=live.initial)  # Argo CD still runs the old pin
    refused = live.promote(LATER, check=1)
    assert "staging does not run sha256:" in refused.stderr
    assert "promote and sync" in refused.stderr


def test_a_revision_missing_from_the_clone_is_unknown(live: Live) -> None:
    live.staged(revision="0123456789abcdef0123456789abcdef01234567")
    refused = live.promote(LATER, check=1)
    assert "staging is unknown" in refused.stderr
    assert "not a commit of the config repo" in refused.stderr


def test_soak_is_counted_from_the_sync(
    tmp_path: Path, argocd: ArgoCDFake, kube_fake: KubeFake
) -> None:
    live = Live(tmp_path / "config", argocd, kube_fake, soak_from="sync")
    # 24h after the merge, 24h minus 5m after the sync finished: not yet
    early = live.promote(MERGED + timedelta(hours=24, minutes=1), check=1)
    assert "has run live in staging for 23h 56m, since the sync of" in early.stderr
    assert "4m left" in early.stderr
    live.promote(SYNCED + timedelta(hours=24, minutes=1), check=0)


def test_an_unreachable_controller_exits_3_with_fail_and_warns_with_warn(
    tmp_path: Path, argocd: ArgoCDFake, kube_fake: KubeFake
) -> None:
    live = Live(tmp_path / "config", argocd, kube_fake)
    run = live.promote(LATER, check=3, ARGOCD_TOKEN="")
    assert "live state of api-service in staging unknown" in run.stderr
    assert "ARGOCD_TOKEN is not set" in run.stderr

    argocd.fail(500, times=100)
    run = live.promote(LATER, check=3)
    assert "set on-error: warn" in run.stderr
    live.open_pr()
    checked = live.repo.check(now=LATER, head="pr", env=live.env, code=3)
    assert "live state of api-service in staging unknown" in checked.stderr
    assert TOKEN not in checked.output

    warn = Live(tmp_path / "warn", argocd, kube_fake, on_error="warn")
    argocd.fail(500, times=100)
    run = warn.promote(LATER, check=0)
    assert "not checked (on-error: warn)" in run.output
    status = warn.cli("status", "--live", check=0)
    assert "unknown (unreachable)" in status.stdout


def test_soak_skips_a_degraded_upstream_saying_why(live: Live) -> None:
    dev = live.repo.promote(
        "worker", "dev", f"ghcr.io/myorg/worker@{NEW_WORKER}", at=MERGED + timedelta(hours=1)
    )
    live.kube.add(flux.ks_health_check_failed(live.initial, dev, name="worker-dev"))

    def soak() -> dict[tuple[str, str], Any]:
        run = live.cli("soak", "--dry-run", "--json", "--now", LATER.isoformat(), check=0)
        return {(t["env"], t["app"]): t for t in json.loads(run.stdout)["targets"]}

    worker = soak()[("staging", "worker")]
    assert worker["status"] == "skipped"
    assert worker["reason"].startswith("dev is degraded live, so it is no source to promote from")
    assert "Kustomization flux-system/worker-dev" in worker["reason"]

    live.kube.add(flux.ks_ready(dev, name="worker-dev"))
    healthy = soak()[("staging", "worker")]  # the live gate passes; api-service lags
    assert healthy["status"] == "blocked"
    assert healthy["reason"] == "worker needs api-service promoted to staging first"


def test_a_multi_source_app_is_judged_at_the_config_repo_source(live: Live) -> None:
    sources = (
        {"repoURL": "https://charts.example.com", "chart": "web", "targetRevision": "1.4.x"},
        {"repoURL": "https://git.example.com/org/config", "path": "apps", "targetRevision": "main"},
    )
    live.staged(revision=None, revisions=("1.4.2", live.staging), sources=sources)
    live.promote(LATER, check=0)
    data = json.loads(live.cli("status", "--live", "--json", check=0).stdout)
    (staging,) = [r for r in data if (r["app"], r["env"]) == ("api-service", "staging")]
    assert staging["live"]["status"] == "synced"
    assert staging["live"]["runs"] == NEW_API
    assert staging["live"]["reading"]["revisions"] == ["1.4.2", live.staging]


def test_a_missing_application_is_unknown(live: Live) -> None:
    live.argocd.reset()
    refused = live.promote(LATER, check=1)
    assert "the controller has no such object" in refused.stderr


def test_tls_is_verified_with_the_ca_file_given(
    tmp_path: Path, argocd_tls: ArgoCDFake, kube_fake: KubeFake
) -> None:
    live = Live(tmp_path / "config", argocd_tls, kube_fake)
    # the system's CAs do not know the fake's: no reading, exit 3 (on-error: fail)
    refused = live.promote(LATER, check=3)
    assert "live state of api-service in staging unknown" in refused.stderr
    path = live.repo.root / "promotion.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "token-env: ARGOCD_TOKEN,", f"token-env: ARGOCD_TOKEN, ca-file: '{argocd_tls.ca_file}',"
        ),
        encoding="utf-8",
    )
    live.repo.commit({}, at=MERGED + timedelta(minutes=1), message="trust the Argo CD CA")
    live.promote(LATER, check=0)


def test_the_action_input_live_adds_the_live_column(live: Live, tmp_path: Path) -> None:
    """``command: status`` with ``live: true``: the job summary and the log show what each
    controller reports; a value that is not a boolean is one line, exit 2."""
    summary = tmp_path / "summary.md"
    inputs = {
        "INPUT_COMMAND": "status",
        "INPUT_LIVE": "true",
        "INPUT_FORMAT": "table",
        "INPUT_REPO_PATH": str(live.repo.root),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    run = cli("action", env=live.env | inputs, check=0)
    assert TOKEN not in run.output
    assert "--live" in run.output
    assert f"synced {live.staging[:12]} since 2026-11-02 10:05 UTC" in run.stdout
    assert "| Live |" in summary.read_text(encoding="utf-8")

    bad = cli("action", env=live.env | inputs | {"INPUT_LIVE": "yes please"}, check=2)
    assert "input live: 'yes please' is not a boolean" in bad.stderr
    assert "Traceback" not in bad.output
