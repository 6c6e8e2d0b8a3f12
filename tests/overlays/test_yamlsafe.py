"""Safe reading of YAML: encodings, size, alias bombs, broken syntax, positions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitops_promote.adapters import yamlcheck, yamlsafe
from gitops_promote.adapters.yamlsafe import YamlError
from gitops_promote.errors import OverlayError, UserError


def test_utf8_with_and_without_bom_decodes() -> None:
    """UTF-8 decodes as is; a BOM is kept so that encoding gives the same bytes back."""
    plain = "image: ghcr.io/o/api # ünïcode\n".encode()
    assert yamlsafe.decode(plain, "v.yaml").encode("utf-8") == plain
    bom = b"\xef\xbb\xbf" + plain
    text = yamlsafe.decode(bom, "v.yaml")
    assert text.startswith("\ufeff")
    assert text.encode("utf-8") == bom
    assert yamlsafe.load(text, "v.yaml")["image"] == "ghcr.io/o/api"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("a: 1\n".encode("utf-16"), "UTF-16"),
        ("a: 1\n".encode("utf-16-le"), "UTF-16"),
        ("a: 1\n".encode("utf-16-be"), "UTF-16"),
        ("a: 1\n".encode("utf-32"), "UTF-32"),
        ("a: 1\n".encode("utf-32-le"), "UTF-32"),
        ("a: café\n".encode("latin-1"), "not valid UTF-8 (byte 0xe9 at offset 6)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "NUL bytes"),
        (b"a" * (yamlsafe.MAX_BYTES + 1), "5 MiB limit"),
    ],
)
def test_other_encodings_binary_and_huge_files_are_refused(data: bytes, expected: str) -> None:
    """UTF-16/32, Latin-1, binary data and files over 5 MiB are refused in one line that
    names the file and says how to fix it."""
    with pytest.raises(YamlError) as err:
        yamlsafe.decode(data, "apps/api/values.yaml")
    message = str(err.value)
    assert message.startswith("apps/api/values.yaml")
    assert expected in message
    assert "\n" not in message
    assert err.value.hint


def test_yaml_errors_are_overlay_errors_with_a_position() -> None:
    """Broken YAML is one YamlError (an OverlayError, exit code 2) with file:line:col."""
    with pytest.raises(YamlError) as err:
        yamlsafe.load("a: 1\nb: [1, 2\nc: 3\n", "promotion.yaml")
    assert isinstance(err.value, OverlayError)
    assert isinstance(err.value, UserError)
    assert err.value.exit_code == 2
    assert (err.value.file, err.value.line) == ("promotion.yaml", 3)
    assert str(err.value).startswith("promotion.yaml:3:")
    assert "\n" not in str(err.value)


def test_load_gives_positions() -> None:
    """load() returns round-trip mappings whose .lc positions point into the file."""
    data = yamlsafe.load("version: 1\napps:\n  api:\n    image: x\n", "promotion.yaml")
    assert data["apps"]["api"]["image"] == "x"
    assert data["apps"].lc.key("api") == (2, 2)
    assert yamlsafe.load("", "promotion.yaml") is None
    assert yamlsafe.load("# only a comment\n", "promotion.yaml") is None


def test_compose_keeps_raw_scalar_text_and_spans() -> None:
    """compose() keeps what is written: 1.10 stays "1.10", spans include quotes."""
    text = "newTag: 1.10\nname: 'x'\n"
    (doc,) = yamlsafe.compose(text, "k.yaml")
    (_, tag), (_, name) = doc.value
    assert tag.value == "1.10"
    assert text[name.start_mark.index : name.end_mark.index] == "'x'"


def test_empty_documents_are_dropped() -> None:
    """Comments-only documents and empty '---' sections yield no nodes."""
    assert yamlsafe.compose("# c\n---\n---\n", "k.yaml") == []
    assert len(yamlsafe.compose("# c\n---\na: 1\n---\nb: 2\n", "k.yaml")) == 2


BOMB = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]"
        for i in range(8)
    ]
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (BOMB, "aliases that expand"),
        ("a: &a [*a]\n", "recursive alias"),
        ("a: 1\na: 2\n", "has the key 'a' twice"),
        ("a: 1\n---\nb: 2\n", "holds 2 YAML documents"),
        ("a: \x07\n", "control character U+0007"),
        ("a: 1\rb: 2\n", "line break other than LF or CRLF"),
        ("a: x\u2028b: 2\n", "line break other than LF or CRLF"),
        ("[" * 3000 + "]" * 3000, "more than 64 deep"),
        ("".join(" " * i + "k:\n" for i in range(1000)), "nests too deeply"),
        ("a: *missing\n", "undefined alias"),
        ("a: b: c\n", "mapping values are not allowed here"),
    ],
)
def test_hostile_yaml_is_refused(text: str, expected: str) -> None:
    """Alias bombs, recursive aliases, duplicate keys, extra documents, control characters,
    odd line breaks, deep nesting and syntax errors: one line each, never a traceback."""
    with pytest.raises(YamlError) as err:
        yamlsafe.load(text, "promotion.yaml")
    assert expected in str(err.value)
    assert "\n" not in str(err.value)
    assert str(err.value).startswith("promotion.yaml")


def test_a_few_aliases_and_merge_keys_are_fine() -> None:
    """Ordinary anchors and merge keys (<<: *defaults) still load."""
    data = yamlsafe.load("d: &d {a: 1}\nx:\n  <<: *d\n  b: 2\ny: *d\n", "p.yaml")
    assert data["x"]["a"] == 1
    assert data["y"]["a"] == 1


def test_brackets_in_strings_and_comments_do_not_count_as_nesting() -> None:
    """Only real flow nesting counts toward the depth limit."""
    text = "a: '" + "[" * 100 + "'\n# " + "{" * 100 + "\nb: [[1], [2]]\n"
    assert yamlsafe.load(text, "p.yaml")["b"] == [[1], [2]]


def test_python_tags_are_not_executed() -> None:
    """Python object tags stay data: nothing is imported or called."""
    data = yamlsafe.load("a: !!python/object/apply:os.system [echo hi]\n", "p.yaml")
    assert list(data["a"]) == ["echo hi"]


def _flow_depth_reference(text: str) -> int | None:
    """Character by character, the deepest flow nesting outside quotes and comments
    (None: within the limit): what the check must find, however it scans."""
    depth, quote, comment, prev = 0, "", False, "\n"
    for index, char in enumerate(text):
        if comment:
            comment = char != "\n"
        elif quote:
            if char == quote:
                quote = ""
        elif char == "#" and prev in " \t\n":
            comment = True
        elif char in "'\"" and prev in " \t\n[{,:":
            quote = char
        elif char in "[{":
            depth += 1
            if depth > yamlsafe.MAX_FLOW_DEPTH:
                return index
        elif char in "]}":
            depth = max(depth - 1, 0)
        prev = char
    return None


@given(
    st.lists(
        st.sampled_from(["[", "{", "]", "}", "'", '"', "#", " ", "\n", "a", ",", ":", "\t"]),
        max_size=400,
    ).map("".join)
    | st.integers(min_value=60, max_value=70).map(lambda n: "k: " + "[" * n + "]" * n)
)
def test_flow_depth_check_finds_what_a_full_scan_finds(text: str) -> None:
    at = _flow_depth_reference(text)
    if at is None:
        yamlcheck.check_flow_depth(text, "f.yaml")
        return
    line = text.count("\n", 0, at) + 1
    with pytest.raises(OverlayError, match=rf"^f\.yaml:{line}:"):
        yamlcheck.check_flow_depth(text, "f.yaml")
