from __future__ import annotations

import hashlib
import io
import os

import pytest

from safehold.hashing.crypto import (
    CRYPTO_HASHES,
    EMPTY_DIGESTS,
    EMPTY_MD5,
    EMPTY_SHA1,
    EMPTY_SHA256,
    Digests,
    MultiDigest,
    hash_bytes,
    hash_stream,
)

# FIPS 180 / RFC 1321 test vectors.
ABC = Digests(
    md5="900150983cd24fb0d6963f7d28e17f72",
    sha1="a9993e364706816aba3e25717850c26c9cd0d89d",
    sha256="ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
)


def test_known_vectors() -> None:
    assert hash_bytes(b"abc") == ABC
    assert hash_bytes(b"") == EMPTY_DIGESTS
    assert hash_stream(io.BytesIO(b"abc")) == (ABC, 3)
    assert hash_stream(io.BytesIO(b"")) == (EMPTY_DIGESTS, 0)


def test_empty_constants_match_hashlib() -> None:
    assert hashlib.md5(b"").hexdigest() == EMPTY_MD5
    assert hashlib.sha1(b"").hexdigest() == EMPTY_SHA1
    assert hashlib.sha256(b"").hexdigest() == EMPTY_SHA256


def test_names_are_stable_storage_keys() -> None:
    assert CRYPTO_HASHES == ("md5", "sha1", "sha256")
    assert tuple(ABC.as_dict()) == CRYPTO_HASHES


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
def test_streaming_equals_one_shot(chunk: int) -> None:
    data = os.urandom(3 * 4096 + 123) if chunk < 4096 else os.urandom(3 * (1 << 20) + 5)
    expected = Digests(
        hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest(), hashlib.sha256(data).hexdigest()
    )
    assert hash_stream(io.BytesIO(data), chunk) == (expected, len(data))
    assert hash_bytes(data) == expected


def test_stream_starts_at_current_position() -> None:
    f = io.BytesIO(b"xxabc")
    f.seek(2)
    assert hash_stream(f) == (ABC, 3)


def test_multidigest_accepts_buffers_and_reports_midway() -> None:
    digest = MultiDigest()
    digest.update(bytearray(b"a"))
    digest.update(memoryview(b"xbc")[1:])
    assert digest.result() == ABC
    assert digest.size == 3
    digest.update(b"d")
    assert digest.result().sha256 == hashlib.sha256(b"abcd").hexdigest()


def test_lowercase_hex() -> None:
    for value in hash_bytes(b"safehold").as_dict().values():
        assert value == value.lower()
        int(value, 16)


def test_bad_chunk() -> None:
    with pytest.raises(ValueError):
        hash_stream(io.BytesIO(b"abc"), 0)
