"""Safe reading of YAML text: overlays and promotion.yaml go through here.

- :func:`decode` turns file bytes into text: UTF-8 only (a leading BOM is kept as
  ``"\\ufeff"`` so that ``text.encode("utf-8")`` gives the same bytes back); UTF-16/32,
  binary and oversized files are refused.
- :func:`compose` parses every document into ruamel.yaml *nodes* (exact character spans,
  scalar styles, raw scalar text) without constructing Python values, after refusing
  alias bombs, recursive aliases and duplicate keys. The overlay editors work on these.
- :func:`load` gives the round-trip value of a single-document file (``CommentedMap``
  with ``.lc`` positions) for promotion.yaml, with the same protections.

Every refusal is a :class:`YamlError`: one line ``file:line:col: problem`` plus a hint.
ruamel.yaml is imported on first use so that commands that never parse YAML start fast.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Final, TypeVar

from gitops_promote.errors import OverlayError

if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node

MAX_BYTES: Final = 5 * 1024 * 1024
# Nodes that aliases may add on top of the nodes written out: a few merge keys
# (``<<: *defaults``) stay far below this; a billion-laughs file goes far beyond it.
MAX_ALIAS_EXPANSION: Final = 10_000
BOM: Final = "\ufeff"
_T = TypeVar("_T")


class YamlError(OverlayError):
    """A YAML file cannot be read safely; ``file``/``line``/``column`` locate it (1-based)."""

    def __init__(
        self,
        file: str,
        problem: str,
        *,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
    ) -> None:
        where = file
        if line is not None:
            where += f":{line}" + (f":{column}" if column is not None else "")
        super().__init__(f"{where}: {problem}", hint=hint)
        self.file = file
        self.line = line
        self.column = column
        self.problem = problem


def decode(data: bytes, name: str) -> str:
    """UTF-8 bytes (with or without BOM) to text; anything else is refused in one line."""
    if len(data) > MAX_BYTES:
        raise YamlError(
            name,
            f"is {len(data)} bytes, more than the {MAX_BYTES // 1048576} MiB limit for YAML files",
            hint="overlays and promotion.yaml are small text files; check the path",
        )
    encoding = _wide_encoding(data)
    if encoding:
        raise YamlError(
            name,
            f"is encoded as {encoding}, not UTF-8",
            hint=f"convert it: iconv -f {encoding} -t UTF-8 FILE > FILE.new && mv FILE.new FILE",
        )
    nul = data.find(b"\x00")
    if nul >= 0:
        raise YamlError(
            name,
            f"contains NUL bytes (offset {nul}): it is binary, not YAML text",
            hint="point the path at a YAML file",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise YamlError(
            name,
            f"is not valid UTF-8 (byte 0x{data[err.start]:02x} at offset {err.start})",
            line=line,
            hint="save the file as UTF-8, e.g. iconv -f LATIN1 -t UTF-8 FILE > FILE.new",
        ) from None


def _wide_encoding(data: bytes) -> str | None:
    """UTF-16/32 by BOM, or by the NUL pattern of an ASCII-heavy start without one."""
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"
    head = data[:4]
    if len(head) == 4:
        if head[:3] == b"\x00\x00\x00" or head[1:] == b"\x00\x00\x00":
            return "UTF-32"
        if (head[0] == 0 and head[2] == 0 and head[1] and head[3]) or (
            head[1] == 0 and head[3] == 0 and head[0] and head[2]
        ):
            return "UTF-16"
    return None


def compose(text: str, name: str) -> list[Node]:
    """Every document of ``text`` as a ruamel.yaml node tree (empty documents dropped).

    Scalars keep their raw text (``newTag: 1.10`` is ``"1.10"``) and exact spans
    (``start_mark.index``/``end_mark.index``, quotes included). The nodes are shared
    between calls with the same text: treat them as read-only."""
    if len(text) > _CACHE_TEXT_LIMIT:
        return _compose(_yaml(), text, name)
    return list(_compose_cached(text, name))


# Editors read the same small file several times per edit (read, plan, each step).
_CACHE_TEXT_LIMIT: Final = 256 * 1024


@functools.lru_cache(maxsize=16)
def _compose_cached(text: str, name: str) -> tuple[Node, ...]:
    return tuple(_compose(_yaml(), text, name))


def load(text: str, name: str) -> Any:
    """The round-trip value of a single-document YAML text (None when empty).

    Mappings are ``CommentedMap`` with ``.lc`` positions; duplicate keys, alias bombs and
    more than one document are refused."""
    yaml = _yaml()
    nodes = _compose(yaml, text, name)
    if not nodes:
        return None
    if len(nodes) > 1:
        raise YamlError(
            name,
            f"holds {len(nodes)} YAML documents, expected one",
            line=_line(text, nodes[1].start_mark.index),
            hint="remove the extra '---' documents",
        )
    return _guarded(lambda: yaml.constructor.construct_document(nodes[0]), name, text)


def _compose(yaml: Any, text: str, name: str) -> list[Node]:
    from ruamel.yaml.nodes import ScalarNode  # noqa: PLC0415 - lazy: fast start

    _check_size(text, name)
    _check_line_breaks(text, name)
    _check_flow_depth(text, name)
    docs: list[Node | None] = _guarded(lambda: list(yaml.compose_all(text)), name, text)
    out = []
    for doc in docs:
        if doc is None:
            continue
        if isinstance(doc, ScalarNode) and doc.tag == "tag:yaml.org,2002:null" and not doc.value:
            continue
        _check_graph(doc, name, text)
        out.append(doc)
    return out


def _guarded(run: Callable[[], _T], name: str, text: str) -> _T:
    """Run a ruamel.yaml step; whatever it raises becomes one YamlError line."""
    try:
        return run()
    except RecursionError:
        raise YamlError(name, "nests too deeply to be read", hint="flatten the nesting") from None
    except Exception as err:  # noqa: BLE001 - ruamel raises assorted errors on hostile input
        raise _yaml_error(err, name, text) from None


def _yaml() -> Any:
    from ruamel.yaml import YAML  # noqa: PLC0415 - lazy: fast start

    return YAML(typ="rt", pure=True)


MAX_FLOW_DEPTH: Final = 64


def _check_flow_depth(text: str, name: str) -> None:
    """Refuse deeply nested flow collections before ruamel.yaml sees them: its scanner
    slows down quadratically on them (a denial of service, not a config)."""
    if text.count("[") + text.count("{") <= MAX_FLOW_DEPTH:
        return
    depth = 0
    quote = ""
    comment = False
    prev = "\n"
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
            if depth > MAX_FLOW_DEPTH:
                raise YamlError(
                    name,
                    f"nests flow collections ([...] or {{...}}) more than {MAX_FLOW_DEPTH} deep",
                    line=_line(text, index),
                    column=_column(text, index),
                    hint="flatten the nesting",
                )
        elif char in "]}":
            depth = max(depth - 1, 0)
        prev = char


_ODD_BREAK: Final = re.compile("\r(?!\n)|[\x85\u2028\u2029]")


def _check_line_breaks(text: str, name: str) -> None:
    """Only LF and CRLF end lines here: YAML also breaks lines at a lone CR, NEL, LS and PS,
    which editors and git do not, so line numbers and edits would disagree."""
    odd = _ODD_BREAK.search(text)
    if odd is not None:
        raise YamlError(
            name,
            f"contains a line break other than LF or CRLF (U+{ord(odd.group()):04X})",
            line=_line(text, odd.start()),
            column=_column(text, odd.start()),
            hint="save the file with LF or CRLF line endings, e.g. with dos2unix",
        )


def _check_size(text: str, name: str) -> None:
    if len(text) > MAX_BYTES:
        raise YamlError(
            name,
            f"is more than the {MAX_BYTES // 1048576} MiB limit for YAML files",
            hint="overlays and promotion.yaml are small text files; check the path",
        )


def _children(node: Node) -> Iterator[Node]:
    from ruamel.yaml.nodes import MappingNode, SequenceNode  # noqa: PLC0415

    if isinstance(node, MappingNode):
        for key, value in node.value:
            yield key
            yield value
    elif isinstance(node, SequenceNode):
        yield from node.value


def _check_graph(root: Node, name: str, text: str) -> None:
    """Refuse recursive aliases, aliases that expand too far, and duplicate mapping keys."""
    from ruamel.yaml.nodes import MappingNode  # noqa: PLC0415

    size: dict[int, int] = {}  # expanded node count of each finished node
    on_path: set[int] = set()
    written = 0
    stack: list[tuple[Node, Iterator[Node]]] = [(root, _children(root))]
    on_path.add(id(root))
    while stack:
        node, it = stack[-1]
        child = next(it, None)
        if child is None:
            stack.pop()
            on_path.discard(id(node))
            size[id(node)] = 1 + sum(size[id(c)] for c in _children(node))
            written += 1
            if isinstance(node, MappingNode):
                _check_duplicates(node, name, text)
            continue
        if id(child) in on_path:
            raise YamlError(
                name,
                "has a recursive alias (an anchor that contains its own alias)",
                line=_line(text, child.start_mark.index),
                hint="remove the '&anchor' and '*alias' pair",
            )
        if id(child) in size:
            continue
        on_path.add(id(child))
        stack.append((child, _children(child)))
    expanded = size[id(root)]
    if expanded - written > MAX_ALIAS_EXPANSION:
        raise YamlError(
            name,
            f"uses YAML aliases that expand to {expanded} nodes from {written} written "
            "(an alias bomb?)",
            hint="write the values out instead of using '&anchor'/'*alias'",
        )


def _check_duplicates(node: Node, name: str, text: str) -> None:
    from ruamel.yaml.nodes import ScalarNode  # noqa: PLC0415

    seen: set[str] = set()
    for key, _ in node.value:
        if not isinstance(key, ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
            continue
        if key.value in seen:
            raise YamlError(
                name,
                f"has the key {key.value!r} twice in one mapping",
                line=_line(text, key.start_mark.index),
                column=_column(text, key.start_mark.index),
                hint="remove one of them: YAML tools disagree about which one wins",
            )
        seen.add(key.value)


def _line(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _column(text: str, index: int) -> int:
    start = text.rfind("\n", 0, index) + 1
    if start == 0 and text.startswith(BOM):
        start = 1
    return index - start + 1


def _yaml_error(err: BaseException, name: str, text: str) -> YamlError:
    """One-line YamlError from whatever ruamel.yaml raised."""
    from ruamel.yaml.error import MarkedYAMLError  # noqa: PLC0415
    from ruamel.yaml.reader import ReaderError  # noqa: PLC0415

    if isinstance(err, ReaderError):
        char = err.character if isinstance(err.character, int) else ord(str(err.character)[:1])
        where = err.position if isinstance(err.position, int) else 0
        return YamlError(
            name,
            f"contains the control character U+{char:04X}",
            line=_line(text, where),
            column=_column(text, where),
            hint="remove control characters from the file; YAML allows only printable text",
        )
    if isinstance(err, MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        problem = _one_line(err.problem or err.context or "is not valid YAML")
        if err.context and err.problem:
            problem = f"{problem} ({_one_line(err.context)})"
        return YamlError(
            name,
            f"invalid YAML: {problem}",
            line=mark.line + 1 if mark is not None else None,
            column=mark.column + 1 if mark is not None else None,
            hint="fix the YAML syntax at that position; a YAML linter points at it too",
        )
    return YamlError(
        name,
        f"invalid YAML: {_one_line(str(err)) or type(err).__name__}",
        hint="fix the YAML syntax; a YAML linter shows where",
    )


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
