"""The device's outbox: every message is committed to SQLite before it is sent.

A row has two marks on its way out. The broker's PUBACK marks it *sent*; the hub's
acknowledgement (the retained ``ack`` message, docs/protocol.md) marks everything up
to a seq *stored*, and only then is the row deleted: Mosquitto PUBACKs before it
writes to disk, so a broker killed between the two loses what only it held, and the
link resends sent-but-not-stored rows after a reconnect or a timeout. Until this
outbox has seen one acknowledgement (``acknowledged``, kept in the file) the hub may
be one that sends none; then the PUBACK deletes the row, as in protocol v1 without
the extension (``mark_delivered``).

The outbox also owns the device's ``seq``: a counter row updated in the same
transaction as the insert, so a seq is never reused, even after the rows it
numbered are delivered and deleted. And its identity: an incarnation id, random,
made with the file, carried as ``inc`` in every payload, so a new outbox (a replaced
SD card) starts a new sequence that the hub keys apart from the old one. A file made
before incarnations existed (schema 1) keeps the legacy identity (none): its counter
goes on, so its seqs never collide.

Bound: sent-but-not-stored rows count against ``max_rows`` like unsent ones; a full
outbox drops its oldest telemetry and replies (sent or not) and keeps every gate event.

Durability: WAL journal. ``synchronous=FULL`` (the default for a Pi) fsyncs the
WAL on every commit, so a committed gate event survives a power cut; an SD
card does that in a few ms and a gate sees at most a few taps a second.
``NORMAL`` skips that fsync: still safe against a crash or ``kill -9`` of the
agent (the WAL is in the OS page cache), but the last commits may vanish on a
power cut. It is for the simulator, where hundreds of outboxes share one disk.
A lost delivery mark only means a duplicate send, which the hub drops by
``(device, inc, seq)``.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from protocol.topics import Channel

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3
# Channels dropped when the outbox is full, in this order; anything else (gate
# events) is kept even past the bound, since a lost passage is a lost record.
EVICTABLE: tuple[Channel, ...] = (Channel.TELEMETRY, Channel.REPLY)
EVICT_FRACTION = 0.01  # evict in batches so a full outbox does not delete on every insert
BUSY_TIMEOUT_MS = 5000
CACHE_KIB = 256  # per connection: the simulator opens hundreds of outboxes in one process

_SCHEMA = """
create table if not exists counter (
    id integer primary key check (id = 0),
    next_seq integer not null
);
insert or ignore into counter (id, next_seq) values (0, 0);
create table if not exists outbox (
    seq integer primary key,
    channel text not null,
    payload blob not null,
    queued_at real not null
);
create index if not exists outbox_channel_seq on outbox (channel, seq);
"""

# Schema 2 (issue #11): the two delivery marks and the outbox's identity.
_SCHEMA_2 = """
alter table outbox add column sent_at real;
create table identity (
    id integer primary key check (id = 0),
    inc text,
    acknowledged integer not null default 0
);
"""
INCARNATION_BYTES = 8  # 16 hex digits: protocol.messages.Incarnation

# Schema 3 (issue #13): the commands this device has run, so that neither a redelivery
# nor a retained command runs one twice, also after a restart. ``ok`` is null while a
# command runs: one found so after a restart was interrupted and is not run again.
_SCHEMA_3 = """
create table if not exists commands_run (
    id text primary key,
    ok integer,
    detail text,
    run_at real not null
)
"""
# Ids kept: a redelivery or a retained command comes within hours; far more than those.
COMMANDS_KEPT = 4096


class OutboxError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class OutboxItem:
    seq: int
    channel: Channel
    payload: bytes


class Outbox:
    """Thread-safe: agent code enqueues, paho's network thread marks deliveries."""

    def __init__(
        self,
        path: Path,
        *,
        max_rows: int = 200_000,
        synchronous: Literal["full", "normal"] = "full",
    ) -> None:
        if max_rows < 1:
            raise ValueError("max_rows must be positive")
        self.path = path
        self.max_rows = max_rows
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # Autocommit mode: transactions are explicit, so none stays open by accident.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            mode = self._db.execute("pragma journal_mode=wal").fetchone()[0]
            if mode != "wal":
                raise OutboxError(f"{path}: cannot use WAL journal (got {mode})")
            self._db.execute(f"pragma synchronous={synchronous.upper()}")
            self._db.execute(f"pragma busy_timeout={BUSY_TIMEOUT_MS}")
            self._db.execute(f"pragma cache_size=-{CACHE_KIB}")
            version = self._db.execute("pragma user_version").fetchone()[0]
            if version not in (0, 1, 2, SCHEMA_VERSION):
                raise OutboxError(f"{path}: outbox schema {version} is newer than this agent")
            if version < 2:
                self._upgrade()
            if version < 3:
                self._db.execute(_SCHEMA_3)
                self._db.execute(f"pragma user_version={SCHEMA_VERSION}")
            inc, acknowledged = self._db.execute(
                "select inc, acknowledged from identity").fetchone()
            self._inc: str | None = None if inc is None else str(inc)
            self._acknowledged = bool(acknowledged)
            self._count = int(self._db.execute("select count(*) from outbox").fetchone()[0])
        except BaseException:
            self._db.close()
            raise

    def _upgrade(self) -> None:
        # A new outbox gets a new identity. One an older agent made (schema 1) keeps the
        # legacy identity and its counter; so does one interrupted here after using seqs.
        legacy = self._db.execute("pragma user_version").fetchone()[0] == 1
        self._db.executescript(_SCHEMA)  # idempotent; executescript commits on its own
        legacy = legacy or self._db.execute("select next_seq from counter").fetchone()[0] > 0
        self._db.execute("begin immediate")
        try:
            for statement in _SCHEMA_2.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            inc = None if legacy else secrets.token_hex(INCARNATION_BYTES)
            self._db.execute("insert into identity (id, inc) values (0, ?)", (inc,))
            self._db.execute("pragma user_version=2")
            self._db.execute("commit")
        except BaseException:
            self._db.execute("rollback")
            raise

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __len__(self) -> int:
        return self._count

    @property
    def next_seq(self) -> int:
        with self._lock:
            return int(self._db.execute("select next_seq from counter").fetchone()[0])

    def _take_seq(self) -> int:
        seq = int(self._db.execute("select next_seq from counter").fetchone()[0])
        self._db.execute("update counter set next_seq = ? where id = 0", (seq + 1,))
        return seq

    def reserve_seq(self) -> int:
        """A seq for a message that does not go through the outbox (status, Last Will)."""
        with self._lock:
            self._db.execute("begin immediate")
            try:
                seq = self._take_seq()
                self._db.execute("commit")
            except BaseException:
                self._db.execute("rollback")
                raise
            return seq

    def enqueue(self, channel: Channel, build: Callable[[int], bytes]) -> int:
        """Assign the next seq, let ``build(seq)`` render the payload, store both atomically.

        The payload is built inside the transaction because the seq is part of
        it: if ``build`` raises, neither the row nor the seq is consumed.
        """
        with self._lock:
            self._db.execute("begin immediate")
            try:
                if self._count >= self.max_rows:
                    self._evict()
                seq = self._take_seq()
                payload = build(seq)
                self._db.execute(
                    "insert into outbox (seq, channel, payload, queued_at) values (?, ?, ?, ?)",
                    (seq, channel.value, payload, time.time()),
                )
                self._db.execute("commit")
            except BaseException:
                self._db.execute("rollback")
                # Eviction may have run before the failure; recount rather than guess.
                self._count = int(self._db.execute("select count(*) from outbox").fetchone()[0])
                raise
            self._count += 1
            return seq

    def _evict(self) -> None:
        want = max(1, int(self.max_rows * EVICT_FRACTION), self._count - self.max_rows + 1)
        for channel in EVICTABLE:
            if want <= 0:
                break
            cur = self._db.execute(
                "delete from outbox where seq in "
                "(select seq from outbox where channel = ? order by seq limit ?)",
                (channel.value, want),
            )
            if cur.rowcount > 0:
                log.warning(
                    "outbox %s full (%d rows): dropped the %d oldest %s messages",
                    self.path, self._count, cur.rowcount, channel.value,
                )
                self._count -= cur.rowcount
                want -= cur.rowcount
        if self._count >= self.max_rows:
            log.error(
                "outbox %s holds %d undelivered gate events, over its bound of %d: "
                "keeping them all; is the broker unreachable?",
                self.path, self._count, self.max_rows,
            )

    def pending(self, limit: int = 100, *, after: int = -1) -> list[OutboxItem]:
        """Unsent messages (no PUBACK yet) with seq > ``after``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "select seq, channel, payload from outbox where seq > ? and sent_at is null"
                " order by seq limit ?",
                (after, limit),
            ).fetchall()
        return [OutboxItem(int(s), Channel(c), bytes(p)) for s, c, p in rows]

    def mark_delivered(self, seq: int) -> bool:
        """Forget a message the broker acknowledged, for a hub that sends no
        acknowledgements (v1). False if it was not (or no longer) here."""
        with self._lock:
            cur = self._db.execute("delete from outbox where seq = ?", (seq,))
            if cur.rowcount:
                self._count -= cur.rowcount
            return cur.rowcount > 0

    # -- end-to-end delivery (issue #11) -----------------------------------------------

    @property
    def incarnation(self) -> str | None:
        """This outbox's identity, the payloads' ``inc``; None for a schema-1 file."""
        return self._inc

    @property
    def acknowledged(self) -> bool:
        """Whether the hub has ever acknowledged this outbox's messages (kept in the file):
        from then on only its acknowledgement deletes a row."""
        return self._acknowledged

    def set_acknowledged(self) -> None:
        with self._lock:
            if not self._acknowledged:
                self._db.execute("update identity set acknowledged = 1")
                self._acknowledged = True

    def mark_sent(self, seq: int) -> bool:
        """The broker has it (PUBACK); kept until the hub says it is stored."""
        with self._lock:
            cur = self._db.execute(
                "update outbox set sent_at = ? where seq = ? and sent_at is null",
                (time.time(), seq))
            return cur.rowcount > 0

    def mark_stored(self, inc: str | None, upto: int) -> int:
        """The hub committed every message of incarnation ``inc`` up to ``upto``: delete
        the sent rows it covers. Unsent rows stay (a copy is on its way, or lost with a
        broker, and is sent again). Returns how many rows went."""
        if inc != self._inc:
            return 0  # the acknowledgement of another outbox (the one this one replaced)
        with self._lock:
            cur = self._db.execute(
                "delete from outbox where seq <= ? and sent_at is not null", (upto,))
            self._count -= cur.rowcount
            return cur.rowcount

    def requeue_sent(self, *, sent_before: float | None = None) -> int:
        """Make sent-but-not-stored rows unsent again so they are resent (all, or those
        sent before the epoch time ``sent_before``). Returns how many."""
        with self._lock:
            if sent_before is None:
                cur = self._db.execute(
                    "update outbox set sent_at = null where sent_at is not null")
            else:
                cur = self._db.execute(
                    "update outbox set sent_at = null where sent_at < ?", (sent_before,))
            return cur.rowcount

    def unsent(self) -> int:
        """Rows the broker has not acknowledged yet."""
        with self._lock:
            return int(self._db.execute(
                "select count(*) from outbox where sent_at is null").fetchone()[0])

    def counts(self) -> dict[str, int]:
        """Undelivered messages per channel, for the agent's own telemetry."""
        with self._lock:
            rows = self._db.execute(
                "select channel, count(*) from outbox group by channel"
            ).fetchall()
        return {str(channel): int(n) for channel, n in rows}

    # -- commands run (issue #13) ------------------------------------------------------

    def command_outcome(self, cmd_id: str) -> tuple[bool | None, str | None] | None:
        """What a command of this id did here: (ok, detail JSON); ok None when it was
        started and never finished (the agent stopped meanwhile); None if never run."""
        with self._lock:
            row = self._db.execute("select ok, detail from commands_run where id = ?",
                                   (cmd_id,)).fetchone()
        if row is None:
            return None
        return (None if row[0] is None else bool(row[0])), row[1]

    def claim_command(self, cmd_id: str) -> bool:
        """Record that a command starts, before it runs: at most once, even across a
        crash. False if the id was already claimed."""
        with self._lock:
            cur = self._db.execute(
                "insert or ignore into commands_run (id, ok, detail, run_at) values (?, null,"
                " null, ?)", (cmd_id, time.time()))
            if cur.rowcount:
                self._db.execute(
                    "delete from commands_run where id not in (select id from commands_run"
                    " order by run_at desc limit ?)", (COMMANDS_KEPT,))
            return cur.rowcount > 0

    def finish_command(self, cmd_id: str, ok: bool, detail: str | None) -> None:
        with self._lock:
            self._db.execute("update commands_run set ok = ?, detail = ? where id = ?",
                             (int(ok), detail, cmd_id))
