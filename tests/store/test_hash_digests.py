"""Compact hash entries: digests stored as bytes but seen as lower-case hex, extras stored once
per import, and exact matching across the hex/bytes boundary. SQLite and PostgreSQL."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import StatementError

from safehold.services.authz import Authz
from safehold.services.context import ServiceContext
from safehold.services.hashsets import import_hashset, remove_set
from safehold.store.db import Database
from safehold.store.digests import binary_column, digest_bytes
from safehold.store.hashset_models import HashEntry, HashExtra, HashSet
from safehold.store.hashset_repo import entry_keys, exact_match
from safehold.store.models import Content
from tests.formats.hashsets.hashset_fixtures import md5, sha1, sha256, write_nsrl_v3
from tests.store.test_hashset_repo import _case_with, _entries

OPERATOR = Authz.local("test:officer")  # the local operator: use cases need an actor's rights


def _octets(db: Database, column: str) -> list[int | None]:
    fn = "octet_length" if db.dialect == "postgresql" else "length"
    with db.engine.connect() as c:
        return [r[0] for r in c.execute(text(f"SELECT {fn}({column}) FROM hash_entries ORDER BY id"))]


def test_digests_round_trip_as_lower_case_hex_and_are_stored_as_bytes(db: Database) -> None:
    with db.session() as s:
        s.add(HashEntry(set_id=1, import_id=1, md5=f"  {md5(1).upper()}\n", sha1=sha1(1), sha256=sha256(1),
                        pdq=sha256(2).upper()))
        s.add(HashEntry(set_id=1, import_id=1, md5=md5(3)))  # the others NULL
    with db.session() as s:
        rows = s.execute(select(HashEntry.md5, HashEntry.sha1, HashEntry.sha256, HashEntry.pdq)
                         .order_by(HashEntry.id)).all()
        assert [tuple(r) for r in rows] == [(md5(1), sha1(1), sha256(1), sha256(2)), (md5(3), None, None, None)]
        # look-ups bind hex of either case; the database compares bytes
        assert s.scalar(select(func.count()).where(HashEntry.md5 == md5(1).upper())) == 1
        assert s.scalar(select(func.count()).where(HashEntry.sha256.in_([sha256(1), sha256(9)]))) == 1
        entry = s.scalars(select(HashEntry).where(HashEntry.md5 == md5(3))).one()
        assert entry.md5 == md5(3) and entry.extra is None
    assert _octets(db, "md5") == [16, 16] and _octets(db, "sha1") == [20, None]
    assert _octets(db, "sha256") == [32, None] and _octets(db, "pdq") == [32, None]


@pytest.mark.parametrize("bad", ["abc", md5(1)[:31], md5(1) + "00", "zz" * 16, "é" * 32,
                                 md5(1)[:16] + " " + md5(1)[16:]])
def test_a_digest_that_is_not_hex_of_the_right_size_is_refused(db: Database, bad: str) -> None:
    with pytest.raises(StatementError, match="hex digest"), db.session() as s:
        s.add(HashEntry(set_id=1, import_id=1, md5=bad))
        s.flush()
    with pytest.raises(StatementError, match="hex digest"), db.session() as s:
        s.scalar(select(HashEntry.id).where(HashEntry.md5 == bad))


def test_digest_helpers() -> None:
    assert digest_bytes(md5(1).upper(), 16) == bytes.fromhex(md5(1))
    with pytest.raises(ValueError, match="32-digit"):
        digest_bytes(sha1(1), 16)
    assert binary_column([md5(1), None, md5(2).upper()], 16) == [bytes.fromhex(md5(1)), None, bytes.fromhex(md5(2))]
    with pytest.raises(ValueError, match="not 16 bytes"):
        binary_column([md5(1), sha1(1)], 16)
    # entry keys do not depend on the form the digests come in (hex from lists, bytes from the store)
    hexes = ([md5(1), None], [sha1(1), sha1(2)], [None, None], [None, sha256(5)])
    as_bytes = tuple([None if v is None else bytes.fromhex(v) for v in col] for col in hexes)
    assert (entry_keys(*hexes) == entry_keys(*as_bytes)).all()


def test_nsrl_products_are_stored_once_per_import_and_purged_with_it(ctx: ServiceContext, tmp_path: Path) -> None:
    v1 = write_nsrl_v3(tmp_path / "v1.db", 30, packages=3)
    import_hashset(ctx, OPERATOR, v1, "NSRL", "known-good", fmt="nsrl-rds3")
    with ctx.db.session() as s:
        extras = s.scalars(select(HashExtra).order_by(HashExtra.id)).all()
        assert len(extras) == 3
        assert {e.data["product"] for e in extras} == {"Benign Product 0", "Benign Product 1", "Benign Product 2"}
        entry = s.scalars(select(HashEntry).where(HashEntry.md5 == md5(4))).one()
        assert entry.extra == {"package_id": "1", "product": "Benign Product 1", "product_version": "1.0",
                               "os": "TestOS"}
        assert entry.file_name == "file4.dll" and entry.sha256 == sha256(4)
    import_hashset(ctx, OPERATOR, write_nsrl_v3(tmp_path / "v2.db", 10, packages=2), "NSRL", "known-good",
                   fmt="nsrl-rds3")
    with ctx.db.session() as s:
        current = s.scalar(select(HashSet.current_import_id))
        assert set(s.scalars(select(HashExtra.import_id))) == {current}  # the replaced version's are gone
        assert s.scalar(select(func.count()).select_from(HashExtra)) == 2
    remove_set(ctx, OPERATOR, "NSRL")
    with ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(HashExtra)) == 0


def test_record_lists_keep_per_row_extras(ctx: ServiceContext, tmp_path: Path) -> None:
    listing = tmp_path / "list.md5"
    listing.write_text(f"{md5(1)}  photos/one.jpg\n{md5(2)}  photos/two.jpg\n{md5(3)}  three.jpg\n")
    import_hashset(ctx, OPERATOR, listing, "paths", "watch")
    with ctx.db.session() as s:
        got = {e.md5: (e.file_name, e.extra) for e in s.scalars(select(HashEntry))}
    assert got == {md5(1): ("one.jpg", {"path": "photos/one.jpg"}), md5(2): ("two.jpg", {"path": "photos/two.jpg"}),
                   md5(3): ("three.jpg", None)}


def test_upper_case_bom_crlf_list_matches_and_odd_content_hashes_are_skipped(
        ctx: ServiceContext, tmp_path: Path) -> None:
    listing = tmp_path / "upper.md5"
    body = "".join(f"{md5(i).upper()} *file{i}.bin\r\n" for i in (1, 2, 3))
    listing.write_bytes(codecs.BOM_UTF8 + body.encode())
    rep = import_hashset(ctx, OPERATOR, listing, "Upper", "known-abuse")
    assert (rep.entries, rep.bad_rows) == (3, 0)
    assert [r[1] for r in _entries(ctx)] == [md5(1), md5(2), md5(3)]
    case_id = _case_with(ctx, [1, 2, 3])
    with ctx.db.session() as s:  # a content MD5 that is not hex cannot match, nor break matching
        s.execute(Content.__table__.update().where(Content.sha256 == sha256(2)).values(md5="not-hex"))
        s.execute(Content.__table__.update().where(Content.sha256 == sha256(3)).values(md5=md5(3).upper()))
    with ctx.db.session() as s:
        assert exact_match(s, case_id) == 2  # files 1 and 3 by MD5 (either case); file 2's MD5 is unreadable
        assert exact_match(s, case_id) == 0  # idempotent


def test_listed_videos_keep_their_vpdq_and_version_diffs_key_them_by_it(ctx: ServiceContext, tmp_path: Path) -> None:
    """A vPDQ list goes through the record writer beside digests stored as bytes: each video's packed
    frames are stored, and a replacement counts videos by their frames (they have no PDQ of their own)."""
    h1, h2, h3 = "f" * 63 + "0", "0" * 63 + "f", "5" * 64

    def video_list(path: Path, videos: dict[str, str]) -> Path:
        path.write_text("".join(f"# video {name}\n0,100,{h},0.000\n1,100,{h1},1.000\n" for name, h in videos.items()))
        return path

    first = import_hashset(ctx, OPERATOR, video_list(tmp_path / "v1.txt", {"a.mp4": h2, "b.mp4": h3}),
                           "Videos", "watch", fmt="vpdq")
    assert first.entries == 2
    with ctx.db.session() as s:
        stored = s.execute(select(HashEntry.file_name, HashEntry.vpdq, HashEntry.pdq).order_by(HashEntry.id)).all()
    assert [(n, p) for n, _v, p in stored] == [("a.mp4", None), ("b.mp4", None)]
    assert all(v is not None and len(v) == 2 * 41 for _n, v, _p in stored)
    again = import_hashset(ctx, OPERATOR, video_list(tmp_path / "v2.txt", {"a.mp4": h2, "b.mp4": h3}),
                           "Videos", "watch", fmt="vpdq")
    assert (again.replaced, again.added, again.removed) == (True, 0, 0)
    changed = import_hashset(ctx, OPERATOR, video_list(tmp_path / "v3.txt", {"a.mp4": h2, "c.mp4": h1}),
                             "Videos", "watch", fmt="vpdq")
    assert (changed.added, changed.removed) == (1, 1)
