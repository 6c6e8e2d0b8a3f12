"""Markdown under a size limit: the job summary (1 MiB per step) and a PR comment
(65,536 characters) are assembled here, from sections in document order, each with a
priority; what does not fit is left out whole blocks at a time and a note says what.

A :class:`Section` is ``head`` + blocks joined by ``sep`` + ``tail``. Each block is
balanced on its own (a table row, a list item, one line inside a fence), and ``head`` /
``tail`` hold what opens and closes around them (a table's header, ``<details>`` and
the fence), so a section cut after any block is still balanced: nothing a cut leaves
behind can swallow what follows. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

Measure = Callable[[str], int]
SEPARATOR: Final = "\n\n"  # between two sections: a blank line ends any paragraph or table
_ATTEMPTS: Final = 6


def utf8_bytes(text: str) -> int:
    """The size GitHub counts for a job summary file."""
    return len(text.encode("utf-8", "surrogatepass"))


@dataclass(frozen=True)
class Section:
    """Markdown that may be cut between two of its ``blocks``.

    ``unit`` names a block in the note ("target(s)", "line(s)"); ``whole`` names the
    section itself when it is left out entirely ("rendered diff(s)"), else its blocks are
    counted. ``keep``: always there, never cut (the verdict, the marker, the footer).
    Sections with a lower ``priority`` get the room first; at equal priority, the earlier
    one. Once a section does not fit whole, every section after it in that order is left
    out: the report shows a prefix of what matters, never a patchwork."""

    blocks: tuple[str, ...]
    head: str = ""
    tail: str = ""
    sep: str = "\n"
    unit: str = "line(s)"
    whole: str = ""
    priority: int = 0
    keep: bool = False

    def text(self, count: int | None = None) -> str:
        blocks = self.blocks if count is None else self.blocks[:count]
        return f"{self.head}{self.sep.join(blocks)}{self.tail}"


def fit(
    sections: Sequence[Section],
    budget: int,
    *,
    measure: Measure = len,
    see: str = "the job log",
) -> str:
    """``sections`` joined by blank lines, ``measure(result) <= budget``: kept sections
    whole, the others by priority as far as they fit, each cut or left-out run followed by
    ``_… N more <unit> not shown; see <see>._``. Empty sections are skipped. When not even
    the kept sections fit, a single note (or, with no room for it, nothing)."""
    present = [s for s in sections if s.blocks or s.keep]
    whole = SEPARATOR.join(s.text() for s in present)
    if measure(whole) <= budget:
        return whole
    # room for one note up front; each attempt that overshoots makes more
    reserve = max(_note_room(s, see, measure) for s in present)
    for _ in range(_ATTEMPTS):
        counts = _allocate(present, budget - reserve, measure)
        text = _assemble(present, counts, see)
        size = measure(text)
        if size <= budget:
            return text
        reserve += size - budget + measure(_note(["999999999 more line(s)"], see))
    fallback = _assemble(present, [len(s.blocks) if s.keep else 0 for s in present], see)
    if measure(fallback) <= budget:
        return fallback
    note = _note([f"everything ({measure(whole)} characters)"], see)
    return note if measure(note) <= budget else ""


def _allocate(sections: Sequence[Section], room: int, measure: Measure) -> list[int]:
    """How many blocks of each section are kept (len(blocks): whole)."""
    counts = [len(s.blocks) if s.keep else 0 for s in sections]
    step = measure(SEPARATOR)
    room -= sum(measure(s.text()) + step for s in sections if s.keep)
    order = sorted(
        (i for i, s in enumerate(sections) if not s.keep), key=lambda i: (sections[i].priority, i)
    )
    for i in order:
        section = sections[i]
        size = measure(section.text()) + step
        if size <= room:
            counts[i] = len(section.blocks)
            room -= size
            continue
        used = measure(section.head) + measure(section.tail) + step
        for block in section.blocks:
            more = measure(block) + (measure(section.sep) if counts[i] else 0)
            if used + more > room:
                break
            used += more
            counts[i] += 1
        break  # this one did not fit whole: everything after it is left out
    return counts


def _assemble(sections: Sequence[Section], counts: Sequence[int], see: str) -> str:
    parts: list[str] = []
    left_out: list[Section] = []
    for section, count in zip(sections, counts, strict=True):
        if count == 0 and not section.keep:
            left_out.append(section)
            continue
        if left_out:
            parts.append(_note(_omitted(left_out), see))
            left_out = []
        parts.append(section.text(count))
        if count < len(section.blocks):
            parts.append(_note([f"{len(section.blocks) - count} more {section.unit}"], see))
    if left_out:
        parts.append(_note(_omitted(left_out), see))
    return SEPARATOR.join(parts)


def _omitted(sections: Sequence[Section]) -> list[str]:
    """What a run of left-out sections held: per noun, how many."""
    totals: dict[str, int] = {}
    for s in sections:
        noun = s.whole or s.unit
        totals[noun] = totals.get(noun, 0) + (1 if s.whole else len(s.blocks))
    return [f"{n} {noun}" for noun, n in totals.items()]


def _note_room(section: Section, see: str, measure: Measure) -> int:
    """What a note about ``section`` may take, with the separator before it."""
    words = [f"999999999 more {section.unit}", f"999999999 {section.whole or section.unit}"]
    return measure(_note(words, see)) + measure(SEPARATOR)


def _note(what: Sequence[str], see: str) -> str:
    return f"_… {', '.join(what)} not shown; see {see}._"


__all__ = ["SEPARATOR", "Measure", "Section", "fit", "utf8_bytes"]
