"""Image references and digests: parse, format, refuse garbage."""

from __future__ import annotations

import pytest

from gitops_promote.errors import InputError
from gitops_promote.images import ImageRef, SetImage, is_digest, parse_digest

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
