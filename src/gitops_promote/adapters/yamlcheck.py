"""The guards every YAML text passes, whichever parser reads it: UTF-8 only (a BOM kept),
a size limit, no odd line breaks, no deeply nested flow collections, no alias bombs or
recursive aliases, no duplicate keys; and the one error every refusal is
(:class:`YamlError`: ``file:line:col: problem`` plus a hint)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Final, TypeVar

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


def _error_at(name: str, text: str, index: int, problem: str, *, hint: str) -> YamlError:
    """A YamlError pointing at the line and column of ``text[index]``."""
    return YamlError(
        name, problem, line=line_of(text, index), column=_column(text, index), hint=hint
    )


def _too_big(name: str, size: str = "") -> YamlError:
    """The one-line refusal of a file over :data:`MAX_BYTES` (``size``: "N bytes, ")."""
    return YamlError(
        name,
        f"is {size}more than the {MAX_BYTES // 1048576} MiB limit for YAML files",
        hint="overlays and promotion.yaml are small text files; check the path",
    )


def decode(data: bytes, name: str) -> str:
    """UTF-8 bytes (with or without BOM) to text; anything else is refused in one line."""
    if len(data) > MAX_BYTES:
        raise _too_big(name, f"{len(data)} bytes, ")
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


MAX_FLOW_DEPTH: Final = 64


def check_flow_depth(text: str, name: str) -> None:
    """Refuse deeply nested flow collections before ruamel.yaml sees them: its scanner
    slows down quadratically on them (a denial of service, not a config)."""
    if text.count("[") + text.count("{") <= MAX_FLOW_DEPTH:
        return
    depth = 0
    quote = ""
    comment = False
    for found in _FLOW_SIGNIFICANT.finditer(text):  # every other character changes nothing
        index = found.start()
        char = found.group()
        prev = text[index - 1] if index else "\n"
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
                raise _error_at(
                    name,
                    text,
                    index,
                    f"nests flow collections ([...] or {{...}}) more than {MAX_FLOW_DEPTH} deep",
                    hint="flatten the nesting",
                )
        elif char in "]}":
            depth = max(depth - 1, 0)


_FLOW_SIGNIFICANT: Final = re.compile(r"[\n#'\"\[\]{}]")


_ODD_BREAK: Final = re.compile("\r(?!\n)|[\x85\u2028\u2029]")


def check_line_breaks(text: str, name: str) -> None:
    """Only LF and CRLF end lines here: YAML also breaks lines at a lone CR, NEL, LS and PS,
    which editors and git do not, so line numbers and edits would disagree."""
    odd = _ODD_BREAK.search(text)
    if odd is not None:
        raise _error_at(
            name,
            text,
            odd.start(),
            f"contains a line break other than LF or CRLF (U+{ord(odd.group()):04X})",
            hint="save the file with LF or CRLF line endings, e.g. with dos2unix",
        )


def check_size(text: str, name: str) -> None:
    if len(text) > MAX_BYTES:
        raise _too_big(name)


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
                line=line_of(text, child.start_mark.index),
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
            raise _error_at(
                name,
                text,
                key.start_mark.index,
                f"has the key {key.value!r} twice in one mapping",
                hint="remove one of them: YAML tools disagree about which one wins",
            )
        seen.add(key.value)


def checked(docs: list[Node | None], name: str, text: str) -> list[Node]:
    """The non-empty documents, after the alias and duplicate-key checks."""
    from ruamel.yaml.nodes import ScalarNode  # noqa: PLC0415 - lazy: fast start

    out = []
    for doc in docs:
        if doc is None:
            continue
        if isinstance(doc, ScalarNode) and doc.tag == "tag:yaml.org,2002:null" and not doc.value:
            continue
        _check_graph(doc, name, text)
        out.append(doc)
    return out


def guarded(run: Callable[[], _T], name: str, text: str) -> _T:
    """Run a ruamel.yaml step; whatever it raises becomes one YamlError line."""
    try:
        return run()
    except RecursionError:
        raise YamlError(name, "nests too deeply to be read", hint="flatten the nesting") from None
    except Exception as err:  # noqa: BLE001 - ruamel raises assorted errors on hostile input
        raise yaml_error(err, name, text) from None


def line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _column(text: str, index: int) -> int:
    start = text.rfind("\n", 0, index) + 1
    if start == 0 and text.startswith(BOM):
        start = 1
    return index - start + 1


def yaml_error(err: BaseException, name: str, text: str) -> YamlError:
    """One-line YamlError from whatever ruamel.yaml raised."""
    from ruamel.yaml.error import MarkedYAMLError  # noqa: PLC0415
    from ruamel.yaml.reader import ReaderError  # noqa: PLC0415

    if isinstance(err, ReaderError):
        char = err.character if isinstance(err.character, int) else ord(str(err.character)[:1])
        where = err.position if isinstance(err.position, int) else 0
        return _error_at(
            name,
            text,
            where,
            f"contains the control character U+{char:04X}",
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
