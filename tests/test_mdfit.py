"""mdfit.fit: markdown sections assembled under a size budget, cut only between blocks,
every cut or left-out section named in a note."""

from __future__ import annotations

import re

from gitops_promote.adapters.mdfit import Section, fit, utf8_bytes

TABLE = Section(
    tuple(f"| row-{i} | x |" for i in range(100)),
    head="| Name | X |\n| --- | --- |\n",
    unit="target(s)",
    priority=2,
)
FENCE = Section(
    tuple(f"+line {i}" for i in range(100)),
    head="<details>\n<summary>diff</summary>\n\n```diff\n",
    tail="\n```\n\n</details>",
    whole="rendered diff(s)",
    priority=4,
)


def test_everything_that_fits_is_joined_unchanged() -> None:
    """Under the budget, the sections are joined by blank lines, nothing added."""
    head = Section(("### Verdict",), keep=True)
    text = fit([head, TABLE], 100_000)
    assert text == "### Verdict\n\n" + TABLE.text()
    assert "not shown" not in text


def test_a_table_is_cut_between_rows_with_its_header_and_a_count() -> None:
    """A table that does not fit keeps its header and the first rows that do; the note
    after it counts exactly the rows left out."""
    text = fit([Section(("### V",), keep=True), TABLE], 400)
    assert len(text) <= 400
    kept = [line for line in text.splitlines() if line.startswith("| row-")]
    assert kept == [f"| row-{i} | x |" for i in range(len(kept))]
    assert kept
    assert f"_… {100 - len(kept)} more target(s) not shown; see the job log._" in text
    assert text.index("| Name | X |") < text.index("| row-0 |")


def test_a_fence_cut_inside_still_closes() -> None:
    """A diff cut between two lines keeps its closing fence and </details>; what comes
    after it in a lower priority is left out and counted."""
    footer = Section(("<sub>footer</sub>",), keep=True)
    text = fit([FENCE, FENCE, footer], 600, see="the job summary")
    assert len(text) <= 600
    assert text.count("```diff") == 1
    assert text.count("\n```\n") == 1
    assert text.count("<details>") == text.count("</details>") == 1
    assert "more line(s) not shown; see the job summary._" in text
    assert "_… 1 rendered diff(s) not shown; see the job summary._" in text
    assert text.endswith("<sub>footer</sub>")


def test_lower_priority_sections_give_way_first() -> None:
    """Room goes by priority: failures (1) are kept before an earlier table (2); the
    output keeps document order, and kept sections are always there."""
    failures = Section(tuple(f"- fail {i}" for i in range(5)), unit="failure(s)", priority=1)
    text = fit([Section(("# V",), keep=True), TABLE, failures], 200)
    assert len(text) <= 200
    assert "- fail 4" in text
    assert re.search(r"_… 9\d more target\(s\) not shown; see the job log\._", text)
    assert text.index("| row-0 |") < text.index("more target(s)") < text.index("- fail 0")


def test_budget_in_utf8_bytes() -> None:
    """Measured in UTF-8 bytes (a job summary), emoji count for four."""
    rows = Section(tuple("| ✅ | 🔓 |" for _ in range(1000)), head="| a | b |\n| - | - |\n")
    text = fit([rows], 2000, measure=utf8_bytes)
    assert utf8_bytes(text) <= 2000
    assert len(text) < 1700  # counted in characters, it would have taken 2000


def test_no_room_at_all() -> None:
    """When not even the kept sections fit, one note; with no room for it, nothing."""
    big = Section(("x" * 500,), keep=True)
    note = fit([big, TABLE], 200)
    assert note.startswith("_… everything")
    assert len(note) <= 200
    assert fit([big], 10) == ""
