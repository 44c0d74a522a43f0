"""The outbox: seq never reused, order kept, eviction spares gate events, kill -9 loses nothing."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from edge.outbox import Outbox
from protocol.topics import Channel


def body(seq: int) -> bytes:
    return json.dumps({"seq": seq}).encode()


def test_seq_is_assigned_with_the_row_and_survives_reopen(tmp_path):
    path = tmp_path / "o.sqlite3"
    with Outbox(path) as box:
        assert [box.enqueue(Channel.EVENT, body) for _ in range(3)] == [0, 1, 2]
        assert box.reserve_seq() == 3  # a will's seq is taken for good
        for item in box.pending(10):
            assert json.loads(item.payload)["seq"] == item.seq
        assert box.mark_delivered(0) and box.mark_delivered(1) and box.mark_delivered(2)
        assert len(box) == 0
    with Outbox(path) as box:
        # every row delivered and deleted: the counter, not max(seq), carries on
        assert box.next_seq == 4
        assert box.enqueue(Channel.TELEMETRY, body) == 4


def test_failed_build_consumes_nothing(tmp_path):
    with Outbox(tmp_path / "o.sqlite3") as box:
        def boom(_seq: int) -> bytes:
            raise ValueError("bad payload")

        with pytest.raises(ValueError):
            box.enqueue(Channel.EVENT, boom)
        assert len(box) == 0
        assert box.enqueue(Channel.EVENT, body) == 0


def test_pending_in_seq_order_after_a_cursor(tmp_path):
    with Outbox(tmp_path / "o.sqlite3") as box:
        for i in range(10):
            box.enqueue(Channel.EVENT if i % 2 else Channel.TELEMETRY, body)
        box.mark_delivered(3)
        assert [i.seq for i in box.pending(100)] == [0, 1, 2, 4, 5, 6, 7, 8, 9]
        assert [i.seq for i in box.pending(3, after=4)] == [5, 6, 7]
        assert box.pending(1)[0].channel is Channel.TELEMETRY
        assert not box.mark_delivered(3)  # twice: a no-op


def test_full_outbox_evicts_oldest_telemetry_never_events(tmp_path, caplog):
    with Outbox(tmp_path / "o.sqlite3", max_rows=100) as box:
        kinds = {}
        for i in range(100):
            channel = Channel.EVENT if i % 4 == 0 else Channel.TELEMETRY
            kinds[box.enqueue(channel, body)] = channel
        box.enqueue(Channel.EVENT, body)  # full: one telemetry row goes
        left = {i.seq for i in box.pending(1000)}
        assert 1 not in left  # the oldest telemetry
        assert all(seq in left for seq, ch in kinds.items() if ch is Channel.EVENT)
        assert len(box) == 100
        assert "dropped the 1 oldest telemetry" in caplog.text


def test_events_are_kept_past_the_bound(tmp_path, caplog):
    with Outbox(tmp_path / "o.sqlite3", max_rows=100) as box:
        for _ in range(150):
            box.enqueue(Channel.EVENT, body)
        assert len(box) == 150
        assert [i.seq for i in box.pending(1000)] == list(range(150))
        assert "keeping them all" in caplog.text


def test_counts_and_reopen_count(tmp_path):
    path = tmp_path / "o.sqlite3"
    with Outbox(path) as box:
        box.enqueue(Channel.EVENT, body)
        box.enqueue(Channel.TELEMETRY, body)
        box.enqueue(Channel.TELEMETRY, body)
        assert box.counts() == {"event": 1, "telemetry": 2}
    with Outbox(path) as box:
        assert len(box) == 3


def test_threads_enqueue_and_deliver_concurrently(tmp_path):
    with Outbox(tmp_path / "o.sqlite3", synchronous="normal") as box:
        seqs: list[int] = []
        lock = threading.Lock()

        def writer() -> None:
            for _ in range(200):
                seq = box.enqueue(Channel.EVENT, body)
                with lock:
                    seqs.append(seq)

        def acker() -> None:
            done = 0
            while done < 400:
                for item in box.pending(min(50, 400 - done)):
                    done += box.mark_delivered(item.seq)

        threads = [threading.Thread(target=writer) for _ in range(4)]
        threads.append(threading.Thread(target=acker))
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(seqs) == list(range(800))
        assert len(box) == 800 - 400 and len(box.pending(1000)) == 400


WRITER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from edge.outbox import Outbox
    from protocol.topics import Channel

    box = Outbox(Path(sys.argv[1]), synchronous=sys.argv[2])
    while True:
        seq = box.enqueue(Channel.EVENT, lambda s: json.dumps({"seq": s}).encode())
        # printed only after commit: every line is a promise the outbox made
        print(seq, flush=True)
    """
)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("synchronous", ["full", "normal"])
def test_kill_9_loses_nothing_committed(tmp_path, synchronous):
    path = tmp_path / "o.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), synchronous],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.stdout is not None
    promised = []
    for line in proc.stdout:
        promised.append(int(line))
        if len(promised) >= 300:
            break
    # a writer that died at start would leave an empty outbox that "loses nothing"
    assert len(promised) == 300, f"the writer promised only {len(promised)} messages"
    assert proc.poll() is None, "the writer must be alive, mid-write, when it is killed"
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(10) == -signal.SIGKILL
    # whatever the writer committed after our last read is fine too
    with Outbox(path) as box:
        stored = [item.seq for item in box.pending(100_000)]
        assert stored[: len(promised)] == promised == list(range(len(promised)))
        assert stored == list(range(len(stored)))  # no gaps, no torn rows
        for item in box.pending(100_000):
            assert json.loads(item.payload) == {"seq": item.seq}
        assert box.next_seq >= len(stored)
        assert box.enqueue(Channel.EVENT, body) == box.next_seq - 1 >= len(stored)


# -- end-to-end delivery (issue #11): sent (PUBACK) and stored (the hub's ack) ----------


def filled(path: Path, n: int) -> Outbox:
    box = Outbox(path)
    for _ in range(n):
        box.enqueue(Channel.EVENT, body)
    return box


@pytest.mark.parametrize(
    ("sent", "ack_upto", "ack_same_inc", "left", "unsent"),
    [
        # nothing sent: an acknowledgement deletes nothing (copies are still on the way)
        ([], 9, True, 10, 10),
        # sent rows up to the ack go; sent rows past it wait; unsent rows stay unsent
        ([0, 1, 2, 3], 2, True, 7, 6),
        ([0, 1, 2, 3], 3, True, 6, 6),
        # a gap: 1 was never acknowledged by the broker, so the hub's word cannot cover it
        ([0, 2, 3], 3, True, 7, 7),
        # the acknowledgement of another outbox (the one this one replaced) is not ours
        ([0, 1, 2, 3], 9, False, 10, 6),
    ],
)
def test_rows_leave_only_when_sent_and_stored(tmp_path, sent, ack_upto, ack_same_inc, left,
                                              unsent):
    with filled(tmp_path / "o.sqlite3", 10) as box:
        for seq in sent:
            assert box.mark_sent(seq)
        inc = box.incarnation if ack_same_inc else "0123456789abcdef"
        box.mark_stored(inc, ack_upto)
        assert (len(box), box.unsent()) == (left, unsent)
        # pending() offers only unsent rows: a sent row is not sent again unless requeued
        assert {i.seq for i in box.pending(100)}.isdisjoint(set(sent) - {*range(ack_upto + 1)})


def test_mark_sent_is_once_and_requeue_makes_rows_pending_again(tmp_path):
    with filled(tmp_path / "o.sqlite3", 5) as box:
        assert box.mark_sent(1) and box.mark_sent(2)
        assert not box.mark_sent(1)  # already sent
        assert not box.mark_sent(99)  # not here
        assert [i.seq for i in box.pending(10)] == [0, 3, 4]
        assert box.requeue_sent(sent_before=0.0) == 0  # none was sent before 1970
        assert box.requeue_sent() == 2
        assert [i.seq for i in box.pending(10)] == [0, 1, 2, 3, 4]
        assert box.unsent() == 5 and len(box) == 5


def test_identity_and_acknowledged_survive_reopen_and_a_new_file_is_a_new_identity(tmp_path):
    path = tmp_path / "o.sqlite3"
    with filled(path, 3) as box:
        inc = box.incarnation
        assert inc is not None and len(inc) == 16 and int(inc, 16) >= 0
        assert not box.acknowledged
        box.set_acknowledged()
        box.mark_sent(0)
    with Outbox(path) as box:
        assert box.incarnation == inc and box.acknowledged
        assert box.unsent() == 2  # the sent mark is kept too
    for stale in tmp_path.iterdir():  # the SD card is replaced
        stale.unlink()
    with Outbox(path) as box:
        assert box.incarnation not in (None, inc)
        assert not box.acknowledged
        assert box.enqueue(Channel.EVENT, body) == 0  # a new sequence, told apart by inc


def test_an_outbox_of_an_older_agent_keeps_the_legacy_identity_and_its_rows(tmp_path):
    path = tmp_path / "o.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        "create table counter (id integer primary key check (id = 0), next_seq integer"
        " not null); insert into counter values (0, 42);"
        "create table outbox (seq integer primary key, channel text not null,"
        " payload blob not null, queued_at real not null);"
        "insert into outbox values (40, 'event', x'7b7d', 0), (41, 'telemetry', x'7b7d', 0);"
        "pragma user_version = 1;")
    db.close()
    with Outbox(path) as box:
        # no inc: its seqs go on from 42, so they never collide with what it sent before
        assert box.incarnation is None
        assert [i.seq for i in box.pending(10)] == [40, 41]
        assert box.enqueue(Channel.EVENT, body) == 42
        box.mark_sent(40)
        assert box.mark_stored(None, 41) == 1 and len(box) == 2
