"""The packet plan of the fast vPDQ mode on hand-made packet lists: which packets are decoded,
and where the stream may be cut into ranges that separate decoders handle at once."""

from __future__ import annotations

import itertools

from safehold.extract._video_plan import PacketInfo, make_plan, split


def _gop(start: int, length: int, *, b_frames: bool = True, open_gop: bool = False) -> list[PacketInfo]:
    """One GOP in decode order: I P B P B ... (each B shown before the P decoded just ahead of it;
    P frames at even, B frames at odd display positions). ``open_gop``: the key frame is shown
    second, after a leading picture decoded after it, as x265 writes by default."""
    if open_gop:
        out = [PacketInfo(start + 1, key=True, non_ref=False, discard=False),
               PacketInfo(start, key=False, non_ref=True, discard=False)]
        i = 2
    else:
        out = [PacketInfo(start, key=True, non_ref=False, discard=False)]
        i = 1
    while i < length:
        if b_frames and i + 1 < length:
            out.append(PacketInfo(start + i + 1, key=False, non_ref=False, discard=False))  # P
            out.append(PacketInfo(start + i, key=False, non_ref=True, discard=False))  # B
            i += 2
        else:
            out.append(PacketInfo(start + i, key=False, non_ref=False, discard=False))
            i += 1
    return out


def _stream(gops: int, length: int = 20, **kw: bool) -> list[PacketInfo]:
    return [p for g in range(gops) for p in _gop(g * length, length, **kw)]


def test_unsampled_non_reference_pictures_and_gop_tails_are_skipped() -> None:
    packets = _stream(3)
    plan = make_plan(packets, modulus=10)
    assert plan is not None and plan.frames == 60
    assert plan.rank[0] == 0 and plan.rank[59] == 59
    assert {0, 10, 20, 30, 40, 50} <= plan.needed  # every sample
    assert 9 not in plan.needed and 13 not in plan.needed  # B-frames nobody samples or refers to
    assert 8 in plan.needed  # a reference picture before the sample at 10
    assert 12 not in plan.needed and 18 not in plan.needed  # after a GOP's last sample: the next key resets
    assert plan.skipped == 60 - len(plan.needed)
    assert plan.closed == (0, 20, 40)
    assert plan.weight[0] == 0 and plan.weight[-1] == len(plan.needed)


def test_open_gop_keeps_its_tail_and_is_not_a_cut_point() -> None:
    packets = _gop(0, 20) + _gop(20, 20, open_gop=True)
    plan = make_plan(packets, modulus=10)
    assert plan is not None
    assert plan.closed == (0,)  # the second key frame has a leading picture that may refer back
    assert {18, 19} <= plan.needed  # so the first GOP's reference tail is decoded for it
    assert split(plan, 4) == [(0, len(packets))]


def test_unusual_streams_get_no_plan() -> None:
    dup = [PacketInfo(0, True, False, False), PacketInfo(0, False, False, False)]
    assert make_plan(dup, 10) is None
    layered = [PacketInfo(0, True, False, False, temporal_id=1)]
    assert make_plan(layered, 10) is None
    assert make_plan([], 10) is None


def test_split_cuts_at_closed_key_frames_and_balances_the_work() -> None:
    packets = _stream(8)
    plan = make_plan(packets, modulus=10)
    assert plan is not None
    ranges = split(plan, 4)
    assert len(ranges) == 4
    assert ranges[0][0] == 0 and ranges[-1][1] == len(packets)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))  # contiguous, no gaps
    assert all(start in plan.closed for start, _ in ranges)
    work = [plan.weight[b] - plan.weight[a] for a, b in ranges]
    assert max(work) - min(work) <= max(work) // 2


def test_split_never_makes_more_ranges_than_gops_or_parts() -> None:
    plan = make_plan(_stream(2), modulus=10)
    assert plan is not None
    assert split(plan, 8) == [(0, 20), (20, 40)]
    assert split(plan, 1) == [(0, 40)]
    single = make_plan(_stream(1), modulus=10)
    assert single is not None and split(single, 4) == [(0, 20)]
