"""The outbox: seq never reused, order kept, eviction spares gate events, kill -9 loses nothing."""

from __future__ import annotations

import json
import os
import signal
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
