"""The fast YAML path (libyaml) gives exactly what the ruamel.yaml path gives.

``yamlsafe.compose(..., fast=True)`` and ``yamlsafe.load(..., fast=True)`` must return the
same node trees (classes, tags, values, styles, anchors, shared alias nodes, every
position) and the same values (types, ``.lc`` positions, anchors), and raise the same
errors with the same messages, as the ruamel.yaml path: for every YAML file in the test
fixtures and config fixtures, for generated documents and for mutated fixtures. The pin
readers built on them agree too. Where libyaml and ruamel.yaml would differ, the fast path
hands over to ruamel.yaml; the cases below name each of those.
"""

from __future__ import annotations

import random
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

from gitops_promote.adapters import yamlfast, yamlsafe
from gitops_promote.apply import overlays
from gitops_promote.apply.overlays.model import Target
from gitops_promote.config.load import parse_config
from gitops_promote.errors import ConfigError, OverlayError

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent


def _yaml_files() -> list[Path]:
    found: set[Path] = set()
    for base in (TESTS / "fixtures", TESTS / "config" / "data", ROOT / "examples"):
        for path in base.rglob("*"):
            if path.is_file() and (
                path.suffix in (".yaml", ".yml") or path.name == "Kustomization"
            ):
                found.add(path)
    return sorted(found)


FILES = _yaml_files()
TEXTS = [p.read_bytes().decode("utf-8") for p in FILES]


def _describe(node: Any, seen: dict[int, str], out: list[Any], path: str = "$") -> None:
    if id(node) in seen:
        out.append((path, "alias of", seen[id(node)]))
        return
    seen[id(node)] = path
    start, end = node.start_mark, node.end_mark
    out.append(
        (
            path,
            type(node).__name__,
            node.tag,
            node.value if isinstance(node, ScalarNode) else None,
            getattr(node, "style", None),
            getattr(node, "flow_style", None),
            node.anchor,
            (start.index, start.line, start.column),
            (end.index, end.line, end.column),
        )
    )
    if isinstance(node, MappingNode):
        for i, (key, value) in enumerate(node.value):
            _describe(key, seen, out, f"{path}.k{i}")
            _describe(value, seen, out, f"{path}.v{i}")
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            _describe(item, seen, out, f"{path}[{i}]")


def composed(text: str, *, fast: bool) -> tuple[str, Any]:
    """What compose() gives: every node described, or the error message."""
    yamlsafe._compose_cached.cache_clear()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ruamel.yaml warns about reused anchors
            docs = yamlsafe.compose(text, "f.yaml", fast=fast)
    except OverlayError as err:
        return "error", str(err)
    out: list[Any] = []
    for doc in docs:
        _describe(doc, {}, out)
    return "ok", out


def _value(value: Any, seen: dict[int, int]) -> Any:
    if id(value) in seen:
        return ("alias of", seen[id(value)])
    seen[id(value)] = len(seen)
    lc = getattr(value, "lc", None)
    where = (lc.line, lc.col, dict(getattr(lc, "data", None) or {})) if lc is not None else None
    anchor = value.yaml_anchor() if hasattr(value, "yaml_anchor") else None
    mark = (anchor.value, anchor.always_dump) if anchor is not None else None
    kind = type(value).__name__
    if isinstance(value, dict):
        items = [(_value(k, seen), _value(v, seen)) for k, v in value.items()]
        return kind, where, mark, items
    if isinstance(value, list):
        return kind, where, mark, [_value(v, seen) for v in value]
    return kind, repr(value), mark


def loaded(text: str, *, fast: bool) -> tuple[str, Any]:
    """What load() gives: the value with every type, position and anchor, or the error."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return "ok", _value(yamlsafe.load(text, "p.yaml", fast=fast), {})
    except OverlayError as err:
        return "error", str(err)


def assert_same(text: str) -> None:
    assert composed(text, fast=True) == composed(text, fast=False), text
    assert loaded(text, fast=True) == loaded(text, fast=False), text


def test_libyaml_is_installed() -> None:
    """PyYAML is installed with its libyaml parser (the fast path runs here)."""
    assert yamlsafe.fast_available()


@pytest.mark.parametrize(
    "text",
    [
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
        "  - ../../base\nimages:\n  - name: ghcr.io/o/a\n    digest: sha256:" + "a" * 64 + "\n",
        "version: 1\nenvironments:\n  - name: dev\n    path: apps/{app}/dev\napps:\n"
        "  api: {image: ghcr.io/o/api}\n",
        "image:\n  repository: ghcr.io/o/api\n  tag: '1.10'  # keep\n",
        "x-defaults: &d {image: x}\napps:\n  a:\n    <<: *d\n",
    ],
)
def test_ordinary_files_take_the_fast_path(text: str) -> None:
    """Kustomizations, values files and promotion.yaml (anchors and merge keys included)
    are composed by libyaml, not handed over to ruamel.yaml."""
    assert yamlfast.fast_docs(text, "f.yaml") is not None
    assert_same(text)


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(TESTS.parent)) for p in FILES])
def test_every_fixture_composes_and_loads_the_same(path: Path) -> None:
    """Every YAML file of the fixtures (overlays, Helm values, Flux/Argo/Kargo files,
    promotion.yaml, valid and invalid): same nodes, values and errors both ways."""
    assert_same(path.read_bytes().decode("utf-8"))


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(TESTS.parent)) for p in FILES])
def test_every_fixture_reads_the_same_pins(path: Path) -> None:
    """read_pins and read_pin (kustomize, Helm and setter targets) give the same pins
    and the same errors on every fixture, fast or not."""
    text = path.read_bytes().decode("utf-8")
    name = path.name

    def outcome(fast: bool) -> Any:
        try:
            pins = overlays.read_pins(name, text, fast=fast)
            one = [
                overlays.read_pin(name, text, target, fast=fast)
                for target in (
                    Target("ghcr.io/myorg/api", "ghcr.io/myorg/api", "auto"),
                    Target("ghcr.io/myorg/api", "ghcr.io/myorg/api", "helm"),
                    Target("nginx", "nginx", "auto", setter="api"),
                )
            ]
        except OverlayError as err:
            return str(err)
        return pins, one

    assert outcome(True) == outcome(False)


def test_every_config_fixture_validates_the_same() -> None:
    """promotion.yaml fixtures give the same model, or the same problems (file, line,
    message), through parse_config (fast) as through the ruamel.yaml path."""
    from gitops_promote.adapters.yamlsafe import YamlError
    from gitops_promote.config.load import validate, yaml_problem

    def slow(text: str) -> Any:
        try:
            data = yamlsafe.load(text, "promotion.yaml")
        except YamlError as err:
            return (yaml_problem(err, "promotion.yaml"),)
        try:
            return validate(data, "promotion.yaml")
        except ConfigError as err:
            return err.problems

    def fast(text: str) -> Any:
        try:
            return parse_config(text, "promotion.yaml")
        except ConfigError as err:
            return err.problems

    for path in sorted((TESTS / "config" / "data").rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert fast(text) == slow(text), path.name


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("a:\tb\n", "a tab: ruamel.yaml refuses it after ':', libyaml takes it"),
        ("a: >\n  x\n  y\n", "folded scalars: ruamel.yaml marks the folds in the value"),
        ("b: ># c\n  x\n", "a block scalar header libyaml takes and ruamel.yaml refuses"),
        ("{a: , b}\n", "empty values in flow mappings: the two put them elsewhere"),
        ("a: # note\nb: 1\n", "an empty value then a comment: ruamel.yaml's mark follows it"),
        ("a: !!str 1\n", "explicit tags"),
        ("%YAML 1.1\n---\na: yes\n", "directives (YAML 1.1 rules)"),
        ("a: café\n", "non-ASCII text"),
        ("\ufeffa: 1\n", "a byte order mark"),
        ("a: &x 1\nb: &x 2\n", "a reused anchor (ruamel.yaml warns)"),
        ("&a: b\n", "anchor names with ':' (YAML 1.2)"),
        ("a: 1\na: 2\n", "duplicate keys (refused, in ruamel.yaml's words)"),
        ("a: *nope\n", "an undefined alias (refused)"),
        ("a: [1, 2\n", "broken YAML (refused)"),
        ("a: b\r\n\rc: d\n", "a lone CR (refused)"),
        ("a: \x07\n", "a control character (refused)"),
        ("".join(f"{' ' * i}k{i}:\n" for i in range(60)) + " " * 60 + "v\n", "deep nesting"),
    ],
)
def test_cases_libyaml_cannot_reproduce_go_through_ruamel(text: str, why: str) -> None:
    """Each case where libyaml and ruamel.yaml read differently is handed over to
    ruamel.yaml, so both paths give the same result or the same error."""
    assert yamlfast.fast_docs(text, "f.yaml") is None, why
    assert_same(text)


def test_empty_values_sit_where_ruamel_puts_them() -> None:
    """``key:`` with no value: the empty node is where ruamel.yaml puts it (where the
    next token starts; after an explicit key's '?'), not after the ':' as libyaml says."""
    for text in ("a:\nb: 1\n", "a:", "a:  \n\n", "k:\n  a:\nb: 1\n", "? a\n d\n: \n  \n? c\n: d\n"):
        assert yamlfast.fast_docs(text, "f.yaml") is not None, text
        assert_same(text)


# -- generated documents ---------------------------------------------------------------------

WORDS = [
    "a", "b", "key", "name", "image", "1.10", "0o17", "true", "yes", "null", "~", "", "x y",
    "-x", "x:y", "http://h", "'q'", '"d"', "'it''s'", '"e\\"s"', "a#b", "0x1F", "1e3", ".inf",
    "2001-12-14", "&a", "*a", "|", "|-", "? k", "-", "[a, b]", "{a: b}", "[]", "{}", "{a: }",
    "{a, b}", "[a: b]", "- a", "<<", "*b", "&b x", "&c", "'multi\n  line'", '"\\x41\\u00e9"',
]  # fmt: skip


def _block(rng: random.Random, indent: int, depth: int) -> list[str]:
    lines: list[str] = []
    seq = depth < 4 and rng.random() < 0.3
    for _ in range(rng.randint(1, 4)):
        pad = " " * indent
        if rng.random() < 0.1:
            lines.append(pad + "# c")
        if rng.random() < 0.08:
            lines.append("")
        head = pad + ("-" if seq else rng.choice(WORDS[:12]) + ":")
        roll = rng.random()
        if roll < 0.5 or depth >= 3:
            value = rng.choice(WORDS)
            tail = rng.choice(["", "", "  # t", "  "])
            lines.append(head + (rng.choice([" ", "  "]) + value if value else "") + tail)
        elif roll < 0.6:
            lines.append(head + rng.choice(["", " ", " # c"]))
        else:
            lines.append(head + rng.choice(["", " &n", " # c"]))
            step = rng.choice([2, 2, 4, 1, 0 if not seq else 2])
            lines.extend(_block(rng, indent + step, depth + 1))
    return lines


def generated(rng: random.Random) -> str:
    lines = _block(rng, 0, 0)
    if rng.random() < 0.1:
        lines.insert(0, "---")
    if rng.random() < 0.1:
        lines.append(rng.choice(["---", "...", "--- x"]))
    text = ("\r\n" if rng.random() < 0.1 else "\n").join(lines)
    return text + ("\n" if rng.random() < 0.8 else "")


NOISE = [" ", ":", "-", "#", "\n", "[", "]", "{", "}", ",", "'", '"', "&a", "*a", "|", ">",
         "?", "  ", "\\", "x", "1", ": ", "- ", "\n  ", "\r\n", "~", "<<: *a\n", "\t"]  # fmt: skip


def mutated(rng: random.Random, text: str) -> str:
    for _ in range(rng.choice([0, 1, 1, 2, 3, 5])):
        at = rng.randrange(len(text) + 1)
        roll = rng.random()
        if roll < 0.35 and text:
            text = text[:at] + text[at + 1 :]
        elif roll < 0.5 and text:
            src = rng.randrange(len(text))
            text = text[:at] + text[src : src + rng.randint(1, 20)] + text[at:]
        else:
            text = text[:at] + rng.choice(NOISE) + text[at:]
    return text


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.randoms(use_true_random=False))
def test_generated_documents_are_read_the_same(rng: random.Random) -> None:
    """Generated block documents (maps, lists, anchors, aliases, empty values, comments,
    quoting, CRLF, broken ones after mutation): same nodes, values and errors."""
    assert_same(mutated(rng, generated(rng)) if rng.random() < 0.5 else generated(rng))


@SETTINGS
@given(st.randoms(use_true_random=False), st.sampled_from(TEXTS))
def test_mutated_fixtures_are_read_the_same(rng: random.Random, text: str) -> None:
    """Real files with a few random edits (most of them now broken YAML): same nodes,
    values and errors."""
    assert_same(mutated(rng, text))


@SETTINGS
@given(st.text(alphabet=" \n:-#[]{},'\"&*!|>?%@abc01~\\", max_size=40))
def test_yaml_punctuation_soup_is_read_the_same(text: str) -> None:
    """Short strings of YAML punctuation: same result or the same error."""
    assert_same(text)
