"""Properties of the overlay editors over generated files (hypothesis).

Random but valid kustomizations (indentation, indentless or indented sequences, CRLF,
missing final newline, comments, blank lines, quoting, key order, document markers, BOM)
and random ``kustomize edit set image`` arguments:

- editing twice equals editing once;
- read_pin after the edit is exactly what the argument describes;
- only the lines of the target's entry change (or a new entry/block is added): every
  other line survives byte for byte, in order, with its own line ending;
- nothing but OverlayError ever comes out of hostile input.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gitops_promote.apply import overlays
from gitops_promote.apply.overlays import kustomize, nodes, textedit
from gitops_promote.errors import OverlayError
from gitops_promote.images import KEEP, SetImage

NAMES = [
    "ghcr.io/myorg/api",
    "ghcr.io/myorg/worker",
    "nginx",
    "registry.example.com:5000/team/cache",
    "api",
]
NEW_NAMES = ["registry.example.com/mirror/api", "localhost:5000/api", "ghcr.io/other/api"]
TAGS = ["v1", "v1.2.3", "1.10", "10", "2024-01-01", "latest", "sha-abc1234", "true", "1e3"]
DIGESTS = [
    "sha256:" + "a" * 64,
    "sha256:7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed",
    "sha512:" + "b" * 128,
]
COMMENT = st.text(alphabet="abcdefghij klmnop", min_size=1, max_size=12).map(
    lambda t: "# " + t.strip()
)


@dataclass(frozen=True)
class Style:
    nl: str
    seq_indent: int  # key column -> dash column
    item_indent: int  # dash column -> key column
    quote: str | None
    alphabetical: bool
    blank_lines: bool
    final_newline: bool
    marker: bool
    bom: bool


styles = st.builds(
    Style,
    nl=st.sampled_from(["\n", "\r\n"]),
    seq_indent=st.sampled_from([0, 2, 4]),
    item_indent=st.sampled_from([2, 4]),
    quote=st.sampled_from([None, None, "'", '"']),
    alphabetical=st.booleans(),
    blank_lines=st.booleans(),
    final_newline=st.booleans(),
    marker=st.booleans(),
    bom=st.booleans(),
)

entry_values = st.fixed_dictionaries(
    {},
    optional={
        "newName": st.sampled_from(NEW_NAMES),
        "newTag": st.sampled_from(TAGS),
        "digest": st.sampled_from(DIGESTS),
    },
)


def scalar(value: str, quote: str | None) -> str:
    return textedit.render(value, quote)


@st.composite
def kustomizations(draw: st.DrawFn) -> str:
    style = draw(styles)
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=4))
    has_images = bool(names) or draw(st.booleans())
    seq = " " * style.seq_indent + "-" + " " * (style.item_indent - 1)
    cont = " " * (style.seq_indent + style.item_indent)
    blocks: list[list[str]] = []
    if style.marker:
        blocks.append([draw(COMMENT), "---"])
    blocks.append(["apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization"])
    blocks.append(["resources:", seq + "../../base"])
    if draw(st.booleans()):
        blocks.append(["namespace: " + draw(st.sampled_from(["dev", "prod", "a-b"]))])
    if has_images:
        lines = ["images:"]
        for name in names:
            values = {"name": name, **draw(entry_values)}
            order = sorted(values) if style.alphabetical else list(values)
            rendered = [f"{k}: {scalar(values[k], style.quote)}" for k in order]
            if draw(st.booleans()):
                rendered[-1] += "  " + draw(COMMENT)
            if draw(st.booleans()):
                lines.append(" " * style.seq_indent + draw(COMMENT))
            lines.append(seq + rendered[0])
            lines.extend(cont + r for r in rendered[1:])
        if not names:
            lines = ["images: []"]
        position = draw(st.integers(min_value=1, max_value=len(blocks)))
        blocks.insert(position, lines)
    if draw(st.booleans()):
        blocks.append([draw(COMMENT)])
    sep = [""] if style.blank_lines else []
    all_lines: list[str] = []
    for i, block in enumerate(blocks):
        all_lines.extend(([] if i == 0 or block[0] == "---" else sep) + block)
    text = style.nl.join(all_lines) + (style.nl if style.final_newline else "")
    return ("\ufeff" if style.bom else "") + text


@st.composite
def arguments(draw: st.DrawFn) -> SetImage:
    name = draw(st.sampled_from([*NAMES, "ghcr.io/myorg/new"]))
    return SetImage(
        name,
        draw(st.sampled_from([None, None, KEEP, *NEW_NAMES])),
        draw(st.sampled_from([None, KEEP, *TAGS])),
        draw(st.sampled_from([None, KEEP, *DIGESTS])),
    )


def target_of(arg: SetImage) -> overlays.Target:
    return overlays.Target(image=arg.name, match=arg.name, kind="kustomize")


FILE = "kustomization.yaml"
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(kustomizations(), arguments())
def test_editing_twice_equals_editing_once(text: str, arg: SetImage) -> None:
    """A second identical edit changes nothing: the edit is idempotent."""
    once = overlays.set_pin(FILE, text, target_of(arg), arg)
    assert overlays.set_pin(FILE, once, target_of(arg), arg) == once


@FAST
@given(kustomizations(), arguments())
def test_read_back_is_what_was_set(text: str, arg: SetImage) -> None:
    """read_pin after set_pin gives exactly the reference kustomize would render."""
    before = overlays.read_pin(FILE, text, target_of(arg))
    after = overlays.read_pin(
        FILE, overlays.set_pin(FILE, text, target_of(arg), arg), target_of(arg)
    )
    assert after is not None
    assert after.ref == overlays.resolve(before.ref if before else None, arg)


@FAST
@given(kustomizations())
def test_setting_the_current_pin_changes_no_byte(text: str) -> None:
    """Re-pinning every entry to what it already says returns the identical text."""
    for name, _ in overlays.read_pins(FILE, text):
        arg = SetImage(name, KEEP, KEEP, KEEP)
        assert overlays.set_pin(FILE, text, target_of(arg), arg) == text


def _entry_lines(text: str, match: str) -> set[int]:
    """0-based line numbers the target entry occupies in ``text`` (empty if none)."""
    doc = kustomize.parse(FILE, text)
    pair = kustomize.images_pair(doc)
    if pair is None or not nodes.is_seq(pair[1]):
        return set()
    for entry in kustomize.entries(doc, pair[1]):
        if entry.name == match:
            first = textedit.line_number(text, nodes.start(entry.node)) - 1
            stop = nodes.content_end(entry.node, doc.aliased, FILE, text)
            return set(range(first, textedit.line_number(text, stop)))
    return set()


_NEW_LINE = re.compile(r"\s*(?:-\s+)?(?:(?:name|newName|newTag|digest): \S.*|images:\s*)|")


@FAST
@given(kustomizations(), arguments())
def test_only_the_image_lines_change(text: str, arg: SetImage) -> None:
    """Lines outside the target's entry survive byte for byte and in order; added lines are
    images: entry lines (or one blank separator); line endings stay the file's own."""
    out = overlays.set_pin(FILE, text, target_of(arg), arg)
    old_lines = text.splitlines(keepends=True)
    new_lines = out.splitlines(keepends=True)
    allowed = _entry_lines(text, arg.name)
    flow_images = "images: [" in text
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        changed = set(range(i1, i2))
        if flow_images and all("images: [" in old_lines[i] for i in changed):
            continue  # a flow-style list is edited on its own line
        added = new_lines[j1:j2]
        # a last line without newline gains one when lines are added after it
        last = len(old_lines) - 1
        if last in changed and not old_lines[last].endswith("\n") and last not in allowed:
            assert added[0] == old_lines[last] + textedit.newline(text), added
            changed.discard(last)
            added = added[1:]
        assert changed <= allowed, (op, old_lines[i1:i2], new_lines[j1:j2])
        for line in added:
            body = line.rstrip("\r\n").lstrip("\ufeff")
            assert _NEW_LINE.fullmatch(body) or "images: [" in body, line
    nl = textedit.newline(text)
    if nl == "\r\n":
        assert out.count("\n") == out.count("\r\n")
    else:
        assert "\r" not in out
    assert out.endswith(nl) == text.endswith(nl) or not text.strip()
    assert out.startswith("\ufeff") == text.startswith("\ufeff")


@FAST
@given(kustomizations(), arguments())
def test_other_entries_keep_their_pins(text: str, arg: SetImage) -> None:
    """Every other images: entry reads the same before and after."""
    out = overlays.set_pin(FILE, text, target_of(arg), arg)
    before = {n: p.ref for n, p in overlays.read_pins(FILE, text) if n != arg.name}
    after = {n: p.ref for n, p in overlays.read_pins(FILE, out) if n != arg.name}
    assert before == after


HELM_SHAPES = [
    "image:\n  repository: {name}\n  tag: {tag}\n",
    "image:\n  repository: {name}\n  tag: {tag}\n  digest: ''\n  pullPolicy: Always\n",
    "image: {name}:{raw_tag}\n",
    "# values\nreplicaCount: 1\nimage: {{repository: {name}, tag: {tag}, digest: ''}}\n",
]


@FAST
@given(
    st.sampled_from(HELM_SHAPES),
    st.sampled_from(["v1", "1.10"]),
    st.sampled_from(["\n", "\r\n"]),
    st.sampled_from([None, *TAGS]),
    st.sampled_from([None, *DIGESTS]),
)
def test_helm_values_edit_reads_back_and_is_idempotent(
    shape: str, tag: str, nl: str, new_tag: str | None, digest: str | None
) -> None:
    """Helm values: the pin reads back as set (or is refused in one line), editing twice
    equals once, and only the image lines differ."""
    name = "ghcr.io/myorg/api"
    text = shape.format(name=name, tag=textedit.render(tag, None), raw_tag=tag)
    text = text.replace("\n", nl)
    target = overlays.Target(image=name, match=name, kind="auto")
    arg = SetImage(name, None, new_tag, digest)
    if digest and not new_tag and "digest" not in shape and "image: {name}" not in shape:
        with pytest.raises(OverlayError, match="no tag to carry the digest") as err:
            overlays.set_pin("values.yaml", text, target, arg)
        assert "\n" not in str(err.value)
        return
    out = overlays.set_pin("values.yaml", text, target, arg)
    pin = overlays.read_pin("values.yaml", out, target)
    assert pin is not None
    assert pin.ref == overlays.resolve(None, arg)
    assert overlays.set_pin("values.yaml", out, target, arg) == out
    old, new = text.splitlines(keepends=True), out.splitlines(keepends=True)
    for a, b in zip(old, new, strict=False):
        if a != b:
            assert any(k in a for k in ("tag", "digest", "image")), (a, b)


MARKER_LINES = [
    '      - image: {ref} # {{"$promote": "api"}}',
    '      - image: "{ref}" # {{"$imagepolicy": "flux-system:api"}}',
    "      - image: {ref}",
    "      - name: api",
    '      # image: {ref} # {{"$promote": "api"}} (commented out)',
]


@FAST
@given(
    st.lists(st.sampled_from(MARKER_LINES), min_size=1, max_size=8),
    st.sampled_from(["\n", "\r\n"]),
    st.sampled_from([None, *TAGS]),
    st.sampled_from(DIGESTS),
)
def test_setter_markers_change_only_marked_lines(
    lines: list[str], nl: str, new_tag: str | None, digest: str
) -> None:
    """Only lines with a marker of the target change; editing twice equals once."""
    name = "ghcr.io/myorg/api"
    body = [line.format(ref=f"{name}:v1") for line in lines]
    text = nl.join(["spec:", "  x:", "    y:", *body]) + nl
    target = overlays.Target(image=name, match=name, kind="setter", setter="api")
    arg = SetImage(name, None, new_tag, digest)
    if not any(line.startswith("      - image") and "$promote" in line for line in lines):
        assume(False)
    out = overlays.set_pin("deploy.yaml", text, target, arg)
    assert overlays.set_pin("deploy.yaml", out, target, arg) == out
    for a, b in zip(text.splitlines(), out.splitlines(), strict=True):
        if a != b:
            assert '"$promote": "api"' in a
            assert b.startswith("      - image: ")
    pin = overlays.read_pin("deploy.yaml", out, target)
    assert pin is not None
    assert pin.ref == overlays.resolve(None, arg)


YAMLISH = st.text(alphabet="abc:- #{}[]'\"&*!|>\n\r\t\\,.@0123456789images", max_size=200)


@settings(max_examples=300, deadline=None)
@given(YAMLISH, st.sampled_from(["kustomization.yaml", "values.yaml", "deploy.yaml"]))
def test_hostile_text_yields_only_overlay_errors(text: str, filename: str) -> None:
    """Whatever the text, the editors return or raise one-line OverlayError, nothing else."""
    arg = SetImage("images", None, "v1", DIGESTS[0])
    target = overlays.Target(image="images", match="images", kind="auto", setter="a")
    messages: list[str] = []
    for run in (
        lambda: overlays.read_pin(filename, text, target),
        lambda: overlays.read_pins(filename, text),
        lambda: overlays.set_pin(filename, text, target, arg),
    ):
        try:
            run()
        except OverlayError as err:
            messages.append(str(err))
    for message in messages:
        assert "\n" not in message
        assert filename in message
