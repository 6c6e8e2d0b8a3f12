"""Many blobs in one process: ``(rev, path)`` pairs or object ids read with one
``git cat-file --batch``; in a partial clone the missing blobs are first fetched in ONE
request (``git fetch --stdin`` of their ids, the way git's own lazy fetch does it), never
one round trip per blob."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from gitops_promote.adapters.git.runner import Git

_BLOB_MODES = frozenset({b"100644", b"100755", b"644", b"755"})


def _parse_batch(out: bytes, count: int) -> list[tuple[str, bytes] | None]:
    """Parse ``git cat-file --batch`` output for ``count`` requests: (type, content)."""
    results: list[tuple[str, bytes] | None] = []
    pos = 0
    for _ in range(count):
        end = out.index(b"\n", pos)
        header = out[pos:end].split(b" ")
        pos = end + 1
        if len(header) == 3 and header[2].isdigit():
            size = int(header[2])
            results.append((header[1].decode(), out[pos : pos + size]))
            pos += size + 1  # content, then a newline
        else:  # "<name> missing" / "<name> ambiguous"
            results.append(None)
    return results


def cat_batch(git: Git, names: Sequence[str]) -> list[tuple[str, bytes] | None]:
    """``git cat-file --batch`` for ``names`` (object ids or ``rev:path``), one process."""
    if not names:
        return []
    for name in names:
        if "\n" in name:
            raise ValueError(f"object name {name!r} contains a newline")
    data = "".join(f"{name}\n" for name in names).encode("utf-8", "surrogateescape")
    out = git.run("cat-file", "--batch", input=data, to_file=True).stdout
    return _parse_batch(out, len(names))


def _tree_entries(raw: bytes, oid_bytes: int) -> dict[bytes, tuple[bytes, str]]:
    """name -> (mode, hex oid) of a raw tree object."""
    entries: dict[bytes, tuple[bytes, str]] = {}
    pos = 0
    while pos < len(raw):
        nul = raw.index(b"\0", pos)
        mode, _, name = raw[pos:nul].partition(b" ")
        oid = raw[nul + 1 : nul + 1 + oid_bytes].hex()
        entries[name] = (mode, oid)
        pos = nul + 1 + oid_bytes
    return entries


def resolve_blobs(git: Git, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
    """Blob id of each ``(rev, path)`` (None: absent, a directory, a symlink or a
    submodule), read from trees only, so nothing is fetched in a blob-less clone."""
    wanted = list(dict.fromkeys(pairs))
    dirs: dict[tuple[str, str], None] = {}
    for rev, path in wanted:
        parent, _, _name = path.rpartition("/")
        dirs[(rev, parent)] = None
    keys = list(dirs)
    trees = cat_batch(git, [f"{rev}:{parent}" for rev, parent in keys])
    parsed: dict[tuple[str, str], dict[bytes, tuple[bytes, str]]] = {}
    oid_bytes = 0
    for key, found in zip(keys, trees, strict=True):
        if found is not None and found[0] == "tree":
            if not oid_bytes:
                oid_bytes = oid_length(git) // 2
            parsed[key] = _tree_entries(found[1], oid_bytes)
    result: dict[tuple[str, str], str | None] = {}
    for rev, path in wanted:
        parent, _, name = path.rpartition("/")
        entry = parsed.get((rev, parent), {}).get(name.encode("utf-8", "surrogateescape"))
        result[(rev, path)] = entry[1] if entry and entry[0] in _BLOB_MODES else None
    return result


def oid_length(git: Git) -> int:
    """Length in hex digits of this repository's object ids (40 SHA-1, 64 SHA-256)."""
    return 64 if git.run("rev-parse", "--show-object-format").text == "sha256" else 40


def prefetch(git: Git, oids: Iterable[str], *, remote: str = "origin") -> None:
    """Fetch the objects of a partial clone in ONE request (present ones are skipped by git
    when all are present; otherwise the request names all of them)."""
    wanted = sorted(set(oids))
    if not wanted:
        return
    git.run(
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--recurse-submodules=no",
        "--filter=blob:none",
        "--stdin",
        remote,
        input="".join(f"{oid}\n" for oid in wanted).encode(),
        config=(("fetch.negotiationAlgorithm", "noop"),),
    )


# Batches up to this size ask git first which blobs are here (:func:`absent`): git looks
# for each missing one again after rescanning its packs (~40 us each), so a large batch,
# which in practice is a first read of many files (every kustomization of a tree), is
# fetched whole as git's own lazy fetch would.
ASK_PRESENT = 512


def absent(git: Git, oids: Sequence[str]) -> list[str]:
    """Which of ``oids`` (blobs) this clone does not have, asked without fetching any
    (``rev-list --missing=print --ignore-missing`` lists just the present ones): a
    batch whose objects are all here costs no request, one with a few missing asks for
    those few. When git cannot tell, every one counts as missing."""
    listed = git.run(
        "rev-list",
        "--objects",
        "--no-walk",
        "--missing=print",
        "--ignore-missing",
        "--stdin",
        input="".join(f"{oid}\n" for oid in oids).encode(),
        check=False,
    )
    if not listed.ok:
        return list(oids)
    present = {line.split(" ", 1)[0] for line in listed.stdout.decode().splitlines()}
    return [oid for oid in oids if oid not in present]


def read_objects(
    git: Git, oids: Iterable[str], *, partial: bool, remote: str = "origin"
) -> dict[str, bytes]:
    """Content of blobs by id: missing ones fetched in one batch first (partial clones)."""
    wanted = list(dict.fromkeys(oids))
    if not wanted:
        return {}
    if partial:
        prefetch(git, absent(git, wanted) if len(wanted) <= ASK_PRESENT else wanted, remote=remote)
    found = cat_batch(git, wanted)
    return {oid: item[1] for oid, item in zip(wanted, found, strict=True) if item is not None}


def read_blobs(
    git: Git, pairs: Iterable[tuple[str, str]], *, partial: bool, remote: str = "origin"
) -> dict[tuple[str, str], bytes | None]:
    """Content of ``path`` at ``rev`` for every pair (None: no such regular file)."""
    oids = resolve_blobs(git, pairs)
    contents = read_objects(
        git, [oid for oid in oids.values() if oid], partial=partial, remote=remote
    )
    return {pair: (contents.get(oid) if oid else None) for pair, oid in oids.items()}
