"""Render a :class:`~gitops_promote.plan.gates.evaluate.CheckResult`: terminal text, JSON,
outputs and annotations (:mod:`.text`), the job summary and the PR comment
(:mod:`.markdown`). Pure functions of the one record."""

from gitops_promote.report.check.markdown import (
    COMMENT_MARKER,
    MAX_COMMENT,
    comment,
    gate_table,
    plan_table,
    summary,
)
from gitops_promote.report.check.text import (
    Annotation,
    annotations_of,
    cron_text,
    headline,
    outputs,
    target_json,
    text,
    to_json,
)

__all__ = [
    "COMMENT_MARKER",
    "MAX_COMMENT",
    "Annotation",
    "annotations_of",
    "comment",
    "cron_text",
    "gate_table",
    "headline",
    "outputs",
    "plan_table",
    "summary",
    "target_json",
    "text",
    "to_json",
]
