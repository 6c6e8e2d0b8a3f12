"""Image references and digests: parse, format, refuse garbage."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gitops_promote.errors import InputError
from gitops_promote.images import KEEP, ImageRef, SetImage, is_digest, is_valid_name, parse_digest

D = "sha256:" + "a" * 64


def test_full_reference_round_trips() -> None:
    """A reference with registry, port, path, tag and digest formats back to itself."""
    text = f"registry.example.com:5000/team/api:v1.2.3@{D}"
    ref = ImageRef.parse(text)
    assert (ref.name, ref.tag, ref.digest) == ("registry.example.com:5000/team/api", "v1.2.3", D)
    assert str(ref) == text
    assert ref.registry == "registry.example.com:5000"


def test_tag_is_never_a_digest() -> None:
    """Tags that look like digests (sha-abc, sha256-...) stay tags."""
    assert not is_digest("sha-abc1234")
    assert not is_digest("sha256-" + "a" * 64)
    ref = ImageRef.parse("ghcr.io/o/api:sha-abc1234")
    assert ref.tag == "sha-abc1234"
    assert ref.digest is None


@pytest.mark.parametrize(
    "bad",
    ["sha256:abc", "sha256:" + "A" * 64, "md5:" + "a" * 32, "sha512:" + "a" * 64, "latest"],
)
def test_bad_digest_is_refused_with_reason(bad: str) -> None:
    """Malformed digests raise a one-line InputError naming the value."""
    with pytest.raises(InputError) as err:
        parse_digest(bad)
    assert bad in str(err.value)
    assert "\n" not in str(err.value)


def test_kustomize_keep_marker() -> None:
    """kustomize's `name=*@digest` keeps newName."""
    arg = SetImage.parse(f"img=*@{D}")
    assert (arg.name, arg.new_name, arg.new_tag, arg.digest) == ("img", "*", None, D)


# --- property tests -------------------------------------------------------------------

_domain_part = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
_path_part = st.from_regex(r"[a-z0-9]{1,6}(?:(?:[._]|__|-{1,2})[a-z0-9]{1,6}){0,2}", fullmatch=True)
tags = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", fullmatch=True)
sha256 = st.from_regex(r"[0-9a-f]{64}", fullmatch=True).map(lambda h: f"sha256:{h}")
sha512 = st.from_regex(r"[0-9a-f]{128}", fullmatch=True).map(lambda h: f"sha512:{h}")
digests = sha256 | sha512


@st.composite
def registries(draw: st.DrawFn) -> str:
    host = draw(st.just("localhost") | st.lists(_domain_part, min_size=2, max_size=3).map(".".join))
    port = draw(st.none() | st.integers(min_value=1, max_value=65535))
    return host if port is None else f"{host}:{port}"


@st.composite
def names(draw: st.DrawFn) -> str:
    registry = draw(st.none() | registries())
    path = "/".join(draw(st.lists(_path_part, min_size=1, max_size=3)))
    name = path if registry is None else f"{registry}/{path}"
    assume(is_valid_name(name))
    return name


@st.composite
def references(draw: st.DrawFn) -> str:
    text = draw(names())
    if draw(st.booleans()):
        text += ":" + draw(tags)
    if draw(st.booleans()):
        text += "@" + draw(digests)
    return text


@given(references())
def test_parse_then_format_round_trips(text: str) -> None:
    """Every valid reference formats back to exactly the text it was parsed from."""
    ref = ImageRef.parse(text)
    assert str(ref) == text
    assert ImageRef.parse(str(ref)) == ref


@given(names(), st.none() | tags, st.none() | digests)
def test_parts_come_back_as_given(name: str, tag: str | None, digest: str | None) -> None:
    """name, tag and digest are split exactly where they were joined."""
    text = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
    ref = ImageRef.parse(text)
    assert (ref.name, ref.tag, ref.digest) == (name, tag, digest)
    assert ref.pinned == (digest is not None)


@given(registries(), st.lists(_path_part, min_size=1, max_size=3))
def test_registry_is_split_off(registry: str, path: list[str]) -> None:
    """A host with a dot, a port or 'localhost' is the registry; the rest is the path."""
    name = f"{registry}/{'/'.join(path)}"
    assume(is_valid_name(name))
    ref = ImageRef.parse(name)
    assert (ref.registry, ref.path) == (registry, "/".join(path))


@given(st.text(max_size=80))
def test_arbitrary_text_is_refused_or_round_trips(text: str) -> None:
    """Random text either parses to a reference that formats back to it, or is refused
    with an InputError whose message is one line."""
    message: str | None = None
    try:
        ref = ImageRef.parse(text)
    except InputError as err:
        message = str(err)
    if message is None:
        assert str(ref) == text.strip()
    else:
        assert message.strip()
        assert "\n" not in message


@given(
    names(),
    st.sampled_from(["sha256", "sha512", "md5", "SHA256", "sha-256"]),
    st.text(alphabet="0123456789abcdefABCDEFxyz-", max_size=140),
)
def test_bad_digests_are_refused(name: str, algo: str, hexpart: str) -> None:
    """Anything after '@' that is not sha256:<64 hex> or sha512:<128 hex> is refused."""
    digest = f"{algo}:{hexpart}"
    assume(not is_digest(digest))
    with pytest.raises(InputError) as err:
        ImageRef.parse(f"{name}@{digest}")
    assert "\n" not in str(err.value)


@given(references(), st.data())
def test_uppercase_repository_name_is_refused(text: str, data: st.DataObject) -> None:
    """Repository paths are lowercase: an uppercase letter in the image's own name (the
    last path component, which can never be a registry host) is refused."""
    ref = ImageRef.parse(text)
    head, _, last = ref.name.rpartition("/")
    letters = [i for i, c in enumerate(last) if c.isalpha()]
    assume(letters)
    i = data.draw(st.sampled_from(letters))
    bad_last = last[:i] + last[i].upper() + last[i + 1 :]
    bad_name = f"{head}/{bad_last}" if head else bad_last
    with pytest.raises(InputError) as err:
        ImageRef.parse(bad_name + str(ref)[len(ref.name) :])
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "api:",
        "api@",
        "/api",
        "api/",
        "ghcr.io//api",
        ":v1",
        "@" + D,
        "api:v 1",
        "ghcr.io/org/api:v1:v2",
        "ghcr.io/org/api@" + D + "@" + D,
        "api:.hidden",
        "api:-x",
        "api:" + "v" * 129,
        "ghcr.io/org/api\nx",
        "api\x00",
        "ghcr.io/Org/api",
    ],
)
def test_empty_or_malformed_parts_are_refused(bad: str) -> None:
    """Empty parts, stray separators, overlong or malformed tags are refused in one line."""
    with pytest.raises(InputError) as err:
        ImageRef.parse(bad)
    assert "\n" not in str(err.value)


@given(
    names(),
    st.sampled_from(["sha-", "sha256-", "sha256_", "sha512-", "digest-"]),
    st.from_regex(r"[0-9a-f]{7,64}", fullmatch=True),
)
def test_digest_looking_tag_stays_a_tag(name: str, prefix: str, hexpart: str) -> None:
    """A mutable tag that looks like a digest (sha-abc1234, sha256-<hex>) is a tag."""
    ref = ImageRef.parse(f"{name}:{prefix}{hexpart}")
    assert ref.tag == prefix + hexpart
    assert ref.digest is None
    assert not ref.pinned
    assert not is_digest(ref.tag)


@given(digests)
def test_digest_with_trailing_newline_is_not_a_digest(digest: str) -> None:
    """Validation looks at the whole text: a trailing newline makes it invalid."""
    assert is_digest(digest)
    assert not is_digest(digest + "\n")
    with pytest.raises(InputError):
        ImageRef("nginx", None, digest + "\n")


@st.composite
def set_image_args(draw: st.DrawFn) -> SetImage:
    name = draw(names())
    new_name = draw(st.none() | st.just(KEEP) | names())
    new_tag = draw(st.none() | st.just(KEEP) | tags)
    digest = draw(st.none() | st.just(KEEP) | digests)
    assume(not (new_name is None and new_tag is None and digest is None))
    return SetImage(name, new_name, new_tag, digest)


@given(set_image_args())
def test_set_image_argument_round_trips(arg: SetImage) -> None:
    """kustomize's NAME[=NEWNAME][:TAG][@DIGEST] (with '*' for keep) round-trips."""
    assert SetImage.parse(str(arg)) == arg


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"api=ghcr.io/o/api:v1@{D}", SetImage("api", "ghcr.io/o/api", "v1", D)),
        ("api=ghcr.io/o/api", SetImage("api", "ghcr.io/o/api")),
        (f"api:v2@{D}", SetImage("api", None, "v2", D)),
        (f"localhost:5000/api@{D}", SetImage("localhost:5000/api", None, None, D)),
        ("api=*:*@*", SetImage("api", KEEP, KEEP, KEEP)),
    ],
)
def test_set_image_forms(text: str, expected: SetImage) -> None:
    """Each kustomize argument form parses into the fields kustomize gives it."""
    assert SetImage.parse(text) == expected


@pytest.mark.parametrize(
    "bad",
    ["", "api", "=x", "api=", "api@", "api:", "*:v1", "Api:v1", "api:v1@sha256:abc", "a b:v1"],
)
def test_set_image_garbage_is_refused(bad: str) -> None:
    """Arguments that set nothing or are malformed are refused with one line."""
    with pytest.raises(InputError) as err:
        SetImage.parse(bad)
    assert "\n" not in str(err.value)
