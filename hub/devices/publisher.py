"""The publisher that tells gates to fetch: ``sync-gallery`` to every gate whose last push
is of an older sync version than its school's (hub.devices.sync keeps the versions).

Pushes are published retained: gates connect with a clean session, so one that was off
when the records changed gets the latest ``sync-gallery`` when it reconnects. The
command id makes a repeat free (edge.commands keeps the ids it ran, across restarts),
so only a new push, with a new id, syncs a gate again.

Sections: pure rules (tested as tables), then SQL, then the publisher thread.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Final

import psycopg

from core.mqtt import TlsFiles
from hub.db import Conn
from hub.devices.sender import PUBLISH_TIMEOUT_S, CommandSender
from hub.devices.sync import sync_versions
from protocol.messages import PROTOCOL_VERSION, CmdPayload

log = logging.getLogger(__name__)


SYNC_COMMAND: Final = "sync-gallery"
POLL_S: Final = 3.0  # how often the publisher compares versions: a change reaches gates
RETRY_FAILED_S: Final = 120.0  # a gate that answered ok=false is asked again after this
BACKOFF_MAX_S: Final = 30.0
STANDBY_RETRY_S: Final = 5.0
# One publisher per database (several hub processes with an API would push everything
# twice): a session advisory lock makes one the leader and the others hot standbys.
PUBLISHER_LOCK_ID: Final = 0x5C5C_0008


# --- pushes (pure) ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GateTarget:
    device: str
    school: str
    pushed_version: int | None  # None: never pushed
    pushed_at: datetime | None
    failed: bool  # the gate answered the last push with ok=false


@dataclass(frozen=True, slots=True)
class Push:
    device: str
    school: str
    version: int


def due_pushes(targets: Iterable[GateTarget], versions: Mapping[str, int], *, now: datetime,
               retry_after: timedelta) -> list[Push]:
    """Gates to tell: their last push is of another version, or failed long enough ago."""
    due = []
    for target in targets:
        version = versions.get(target.school)
        if version is None:
            continue
        retry = (target.failed and target.pushed_at is not None
                 and now - target.pushed_at >= retry_after)
        if target.pushed_version != version or retry:
            due.append(Push(target.device, target.school, version))
    return due


def sync_command(push: Push, *, seq: int, at: datetime, cmd_id: uuid.UUID) -> CmdPayload:
    return CmdPayload(v=PROTOCOL_VERSION, type="cmd", device=push.device, seq=seq, ts=at,
                      id=cmd_id, name=SYNC_COMMAND, args={"version": push.version})


# --- SQL --------------------------------------------------------------------------------


def gate_targets(conn: Conn) -> list[GateTarget]:
    rows = conn.execute(
        "select d.id, d.school_id, p.version, p.pushed_at,"
        " exists (select 1 from device_replies r where r.device_id = d.id"
        "   and r.cmd_id = p.cmd_id and not r.ok)"
        " from devices d left join device_sync_pushes p on p.device_id = d.id"
        " where d.role = 'gate' order by d.id"
    ).fetchall()
    return [GateTarget(str(d), str(s), None if v is None else int(v), at, bool(failed))
            for d, s, v, at, failed in rows]


def next_cmd_seq(conn: Conn) -> int:
    row = conn.execute("select nextval('device_cmd_seq')").fetchone()
    assert row is not None
    return int(row[0])


def record_push(conn: Conn, push: Push, cmd_id: uuid.UUID) -> None:
    conn.execute(
        "insert into device_sync_pushes (device_id, version, cmd_id) values (%s, %s, %s)"
        " on conflict (device_id) do update set version = excluded.version,"
        " cmd_id = excluded.cmd_id, pushed_at = now()",
        (push.device, push.version, cmd_id),
    )


# --- the publisher ----------------------------------------------------------------------


class SyncPublisher:
    """A thread of the hub process serving the API: every ``poll_s`` it brings the sync
    versions up to date and publishes ``sync-gallery`` to every gate that is behind.

    A push counts once the broker acknowledged it (QoS 1 PUBACK); with the broker down
    nothing is recorded and the next cycle tries again.
    """

    def __init__(
        self,
        database_url: str,
        *,
        mqtt_url: str,
        client_id: str,
        tz: tzinfo,
        username: str | None = None,
        password: str | None = None,
        poll_s: float = POLL_S,
        tls: TlsFiles | None = None,
        sender: CommandSender | None = None,
    ) -> None:
        self.database_url = database_url
        # The hub process's one command client (issue #13), shared with the API's
        # commands; a publisher without one makes its own.
        self._owns_sender = sender is None
        self.sender = sender or CommandSender(mqtt_url, client_id=client_id,
                                              username=username, password=password, tls=tls)
        self.address = self.sender.address
        self.client_id = client_id
        self.tz = tz
        self.poll_s = poll_s
        self.pushes = 0
        self.errors = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sync-publisher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._owns_sender:
            self.sender.close()

    # -- the loop ----------------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.database_url, autocommit=True,
                                     application_name="smartschool-sync") as conn:
                    if not self._lead(conn):
                        continue
                    backoff = 0.5
                    while not self._stop.is_set():
                        self.run_once(conn)
                        self._stop.wait(self.poll_s)
            except Exception:
                # A database outage or a bug must not end the gates' syncing for good.
                self.errors += 1
                log.warning("sync publisher failed; retrying in %.1fs", backoff, exc_info=True)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)

    def _lead(self, conn: Conn) -> bool:
        """Wait until this process holds the publisher lock (False: asked to stop)."""
        while not self._stop.is_set():
            row = conn.execute("select pg_try_advisory_lock(%s)",
                               (PUBLISHER_LOCK_ID,)).fetchone()
            if row is not None and row[0]:
                return True
            self._stop.wait(STANDBY_RETRY_S)
        return False

    def run_once(self, conn: Conn) -> list[Push]:
        """One check: versions brought up to date, the gates behind told. Returns what
        was pushed (and acknowledged by the broker)."""
        versions = sync_versions(conn)
        due = due_pushes(gate_targets(conn), versions, now=datetime.now(UTC),
                         retry_after=timedelta(seconds=RETRY_FAILED_S))
        if not due:
            return []
        if not self.sender.ready(PUBLISH_TIMEOUT_S):
            log.warning("sync publisher: broker %s unreachable; %d gates wait", self.address,
                        len(due))
            return []
        done = []
        for push in due:
            cmd_id = uuid.uuid4()
            command = sync_command(push, seq=next_cmd_seq(conn), at=datetime.now(self.tz),
                                   cmd_id=cmd_id)
            if not self.sender.publish(command, push.school, retain=True):
                break  # the broker is in trouble; the rest waits for the next cycle
            record_push(conn, push, cmd_id)
            log.info("sync-gallery (version %d) pushed to %s", push.version, push.device)
            done.append(push)
        self.pushes += len(done)
        return done
