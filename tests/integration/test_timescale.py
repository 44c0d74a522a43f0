"""The TimescaleDB path on a real TimescaleDB: migration 0006 makes raw telemetry a
hypertable (keeping old rows), the ingest's dedup holds on it, ``time_bucket`` gives the
buckets ``date_bin`` gives on plain PostgreSQL, retention drops chunks with
``drop_chunks``, the hourly maintenance leaves the hypertable alone, and the installed
build's licence is what ``timescale_info`` says (the Apache build refuses the TSL
features the hub therefore never calls).

Where the server comes from (``timescale_server``), first that fits:

1. the test server (SMARTSCHOOL_TEST_PG) already preloads the extension: used as it is;
2. PostgreSQL's own files hold the extension (``apt-get install postgresql-N-timescaledb``):
   a throwaway cluster of that version with ``shared_preload_libraries = timescaledb``;
3. apt offers ``postgresql-N-timescaledb`` (Debian 13: N = 17) for an installed
   PostgreSQL N: the package is downloaded (``apt-get download``, cached under
   ``~/.cache/smartschool``), unpacked beside a private copy of PostgreSQL N's binaries,
   and run as that throwaway cluster. Nothing is installed into the system: installed
   there without the preload, every ``create extension timescaledb`` (migration 0006's
   probe) ends the session with a FATAL "must be preloaded";
4. otherwise the tests skip, saying which check failed (on Debian 12 apt offers no
   package). That check is one ``apt-cache policy`` call per installed PostgreSQL
   version: no time lost in CI.

``SMARTSCHOOL_TIMESCALE_ROOT`` may name an unpacked build (``usr/lib/postgresql/N/lib``,
``usr/share/postgresql/N/extension``) to use instead of the download.
"""

from __future__ import annotations

import getpass
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from hub.db import available_migrations, connect, migrate
from hub.equipment import partitions, series, storage
from hub.equipment.evaluator import Evaluator
from hub.ingest import store
from hub.ingest.routing import Incoming, Store, route
from tests.conftest import ADMIN_PG, free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SCHOOL = "thcs-t"
DEVICE = "t-r101"
ASSET = "PJ-T-101"
SEED = f"""
insert into schools (id, name, level, ward) values ('{SCHOOL}', 'THCS T', 'thcs', 'T1');
insert into devices (id, school_id, role, last_seen, state)
    values ('{DEVICE}', '{SCHOOL}', 'classroom', now(), 'online');
"""
PG_LIB = Path("/usr/lib/postgresql")
PG_SHARE = Path("/usr/share/postgresql")
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "smartschool"


# -- where a TimescaleDB server comes from ----------------------------------------------

def _installed_majors() -> list[str]:
    """PostgreSQL major versions with server binaries here, newest first."""
    if not PG_LIB.is_dir():
        return []
    found = [p.name for p in PG_LIB.iterdir() if (p / "bin" / "postgres").exists()]
    return sorted(found, key=int, reverse=True)


def _has_extension(root: Path, major: str) -> bool:
    return ((root / f"usr/share/postgresql/{major}/extension/timescaledb.control").exists()
            and any((root / f"usr/lib/postgresql/{major}/lib").glob("timescaledb*.so")))


def _apt_candidate(package: str) -> str | None:
    """The version apt would install, or None (no apt, or the package is not offered)."""
    if shutil.which("apt-cache") is None:
        return None
    out = subprocess.run(["apt-cache", "policy", package], capture_output=True, text=True,
                         timeout=30, check=False).stdout
    for line in out.splitlines():
        key, _, value = line.strip().partition(":")
        if key == "Candidate" and value.strip() not in ("", "(none)"):
            return value.strip()
    return None


def _distro() -> str:
    try:
        fields = dict(line.split("=", 1) for line in
                      Path("/etc/os-release").read_text().splitlines() if "=" in line)
        return fields.get("PRETTY_NAME", "this system").strip('"')
    except OSError:
        return "this system"


def _download(major: str) -> Path:
    """``postgresql-{major}-timescaledb`` unpacked under the cache (downloaded once)."""
    root = CACHE / f"timescaledb-pg{major}"
    if _has_extension(root, major):
        return root
    work = Path(tempfile.mkdtemp(prefix="ss-tsdl-"))
    try:
        subprocess.run(["apt-get", "download", f"postgresql-{major}-timescaledb"], cwd=work,
                       check=True, capture_output=True, timeout=300)
        deb = next(work.glob("*.deb"))
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True, timeout=120)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return root


def _private_tree(tree: Path, major: str, ext_root: Path) -> Path:
    """PostgreSQL ``major`` laid out under ``tree`` with the extension's files added.

    PostgreSQL finds its share and library folders relative to its binary (after
    resolving symlinks), so the binaries are hard links or copies; the system's other
    files are links, the extension's are copies."""
    bindir = tree / f"usr/lib/postgresql/{major}/bin"
    libdir = tree / f"usr/lib/postgresql/{major}/lib"
    sharedir = tree / f"usr/share/postgresql/{major}"
    bindir.mkdir(parents=True)
    for f in (PG_LIB / major / "bin").iterdir():
        try:
            os.link(f.resolve(), bindir / f.name)
        except OSError:
            shutil.copy2(f.resolve(), bindir / f.name)
    for target, system, extra in (
            (libdir, PG_LIB / major / "lib", ext_root / f"usr/lib/postgresql/{major}/lib"),
            (sharedir, PG_SHARE / major, None)):
        target.mkdir(parents=True)
        for f in system.iterdir():
            if f.name != "extension":
                (target / f.name).symlink_to(f)
        if extra is not None:
            for f in extra.iterdir():
                _place(f, target / f.name)
    ext = sharedir / "extension"
    ext.mkdir()
    for f in (PG_SHARE / major / "extension").iterdir():
        (ext / f.name).symlink_to(f)
    for f in (ext_root / f"usr/share/postgresql/{major}/extension").iterdir():
        _place(f, ext / f.name)
    return bindir


def _place(source: Path, target: Path) -> None:
    """Copy an extension file (or folder) into the tree, over a link to the system's:
    the cache may sit in a home folder the `postgres` user cannot enter."""
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.is_dir():
        shutil.rmtree(target)
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copy2(source, target)


def _find() -> tuple[str, str | None, Path | None] | str:
    """("running", url, None), ("system", major, bindir), ("private", major, ext root),
    or the reason there is none."""
    try:
        with psycopg.connect(ADMIN_PG, autocommit=True, connect_timeout=5) as conn:
            row = conn.execute(
                "select current_setting('shared_preload_libraries'),"
                " exists (select 1 from pg_available_extensions where name = 'timescaledb')"
            ).fetchone()
        if row and row[1] and "timescaledb" in str(row[0]):
            return ("running", ADMIN_PG, None)
    except psycopg.Error:
        pass
    majors = _installed_majors()
    if not majors:
        return "no PostgreSQL server binaries under /usr/lib/postgresql"
    env_root = os.environ.get("SMARTSCHOOL_TIMESCALE_ROOT")
    for major in majors:
        if _has_extension(Path("/"), major):
            return ("system", major, PG_LIB / major / "bin")
        if env_root and _has_extension(Path(env_root), major):
            return ("private", major, Path(env_root))
        if _has_extension(CACHE / f"timescaledb-pg{major}", major):
            return ("private", major, CACHE / f"timescaledb-pg{major}")
    offered = [m for m in majors if _apt_candidate(f"postgresql-{m}-timescaledb")]
    if offered:
        try:
            return ("private", offered[0], _download(offered[0]))
        except (subprocess.SubprocessError, OSError, StopIteration) as exc:
            return (f"apt offers postgresql-{offered[0]}-timescaledb but fetching it "
                    f"failed: {exc}")
    names = ", ".join(f"postgresql-{m}-timescaledb" for m in majors)
    return (f"TimescaleDB cannot be installed here: apt on {_distro()} offers no {names} "
            f"for the installed PostgreSQL {', '.join(majors)} (Debian 13 packages "
            "postgresql-17-timescaledb), and the test server does not preload it; "
            "the native-partition path is tested in test_telemetry_partitions.py")


class Cluster:
    """A throwaway PostgreSQL cluster that preloads TimescaleDB, on a free port."""

    def __init__(self, bindir: Path, base: Path) -> None:
        self.bindir = bindir
        self.data = base / "data"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        # PostgreSQL refuses to run as root: the cluster belongs to `postgres` then.
        self.run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.user = "postgres" if os.geteuid() == 0 else getpass.getuser()

    def start(self) -> str:
        self.data.mkdir(mode=0o700)
        if self.run_as:
            entry = pwd.getpwnam("postgres")
            os.chown(self.data, entry.pw_uid, entry.pw_gid)
        subprocess.run([*self.run_as, str(self.bindir / "initdb"), "-D", str(self.data),
                        "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
                       check=True, capture_output=True, timeout=120)
        log = (self.data.parent / "postgres.log").open("ab")
        self.proc = subprocess.Popen(
            [*self.run_as, str(self.bindir / "postgres"), "-D", str(self.data),
             "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
             "-c", f"unix_socket_directories={self.data}",
             "-c", "shared_preload_libraries=timescaledb",
             "-c", "timescaledb.telemetry_level=off", "-c", "fsync=off",
             # the package's JIT bitcode folder stands in for the system's in a private tree
             "-c", "jit=off",
             "-c", "max_connections=30"],
            stdout=log, stderr=log)
        url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        deadline = time.monotonic() + 60
        while True:
            try:
                psycopg.connect(url, connect_timeout=2).close()
                return url
            except psycopg.OperationalError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    log_text = (self.data.parent / "postgres.log").read_text()[-2000:]
                    raise RuntimeError(
                        f"the TimescaleDB cluster did not start:\n{log_text}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            # SIGTERM to runuser is passed on to postgres (smart shutdown); fast is enough
            subprocess.run([*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.data),
                            "-m", "immediate", "-w", "stop"], capture_output=True,
                           timeout=60, check=False)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="module")
def timescale_server() -> Iterator[str]:
    """The admin URL of a server where ``create extension timescaledb`` works."""
    found = _find()
    if isinstance(found, str):
        pytest.skip(found)
    kind, what, where = found
    if kind == "running":
        assert what is not None
        yield what
        return
    assert what is not None and where is not None
    base = Path(tempfile.mkdtemp(prefix="ss-tsdb-"))
    base.chmod(0o755)  # the `postgres` user walks into it when the tests run as root
    cluster: Cluster | None = None
    try:
        bindir = where if kind == "system" else _private_tree(base / "tree", what, where)
        cluster = Cluster(bindir, base)
        yield cluster.start()
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def ts_empty_url(timescale_server: str) -> Iterator[str]:
    name = f"ss_ts_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(timescale_server, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    try:
        yield f"{timescale_server.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(timescale_server, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def ts_db(ts_empty_url: str) -> Iterator[psycopg.Connection[Any]]:
    migrate(ts_empty_url)
    with psycopg.connect(ts_empty_url, autocommit=True) as conn:
        conn.execute(SEED.encode())
        store.prepare(conn)
        yield conn


# -- helpers ------------------------------------------------------------------------------

def telemetry(seq: int, ts: datetime, metrics: dict[str, object]) -> Store:
    body = {"v": 1, "type": "telemetry", "device": DEVICE, "seq": seq,
            "ts": ts.isoformat(timespec="milliseconds"), "asset": ASSET, "metrics": metrics}
    routed = route(Incoming(f"ss/v1/{SCHOOL}/{DEVICE}/telemetry", json.dumps(body).encode(),
                            datetime.now(UTC)), {DEVICE: SCHOOL})
    assert isinstance(routed, Store), routed
    return routed


def write(conn: psycopg.Connection[Any], *items: Store) -> None:
    result = store.write_batch(conn, list(items), [], tz="Asia/Ho_Chi_Minh")
    assert result.dead_lettered == 0


def chunks(conn: psycopg.Connection[Any]) -> list[str]:
    return [str(r[0]) for r in conn.execute("select show_chunks('telemetry')::text")]


# -- the tests ------------------------------------------------------------------------------

def test_migration_makes_raw_telemetry_a_hypertable(ts_db: psycopg.Connection[Any]) -> None:
    assert storage.raw_layout(ts_db) == "hypertable"
    dim = ts_db.execute(
        "select column_name::text, time_interval from timescaledb_information.dimensions"
        " where hypertable_name = 'telemetry'").fetchall()
    assert dim == [("ts", timedelta(days=7))]
    key = ts_db.execute(
        "select array_agg(a.attname::text order by k.n) from pg_index i"
        " cross join unnest(i.indkey) with ordinality k(attnum, n)"
        " join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum"
        " where i.indrelid = 'telemetry'::regclass and i.indisprimary").fetchone()
    assert key == (["device_id", "inc", "seq", "metric", "ts"],)
    # no native partitions of the raw table, and no default partition to catch far clocks
    assert partitions.partitions_of(ts_db, "telemetry") == []
    assert not storage.exists(ts_db, "telemetry_default")
    # the rollups are natively partitioned under Timescale too
    kinds = dict(ts_db.execute(
        "select relname::text, relkind::text from pg_class"
        " where relname in ('telemetry_5m', 'telemetry_1h')").fetchall())
    assert kinds == {"telemetry_5m": "p", "telemetry_1h": "p"}


def test_migration_moves_existing_rows_into_chunks(ts_empty_url: str) -> None:
    now = datetime.now(UTC)
    rows = [(1, now), (2, now - timedelta(days=40)), (3, datetime(2001, 5, 1, tzinfo=UTC)),
            (4, datetime(2199, 1, 1, tzinfo=UTC))]
    with connect(ts_empty_url, autocommit=True) as conn:
        conn.execute("create table schema_migrations (version integer primary key,"
                     " name text not null, applied_at timestamptz not null default now())")
        for m in available_migrations():
            if m.version < 6:
                conn.execute(m.sql.encode())
                conn.execute("insert into schema_migrations (version, name) values (%s, %s)",
                             (m.version, m.name))
        conn.execute(SEED.encode())
        for seq, ts in rows:
            conn.execute("insert into telemetry (device_id, seq, metric, ts, received_at,"
                         " value_num) values (%s, %s, 'env.temp_c', %s, now(), %s)",
                         (DEVICE, seq, ts, 20.0 + seq))
    assert next(m.version for m in migrate(ts_empty_url)) == 6
    with connect(ts_empty_url, autocommit=True) as conn:
        assert storage.raw_layout(conn) == "hypertable"
        got = conn.execute("select seq, ts, value_num from telemetry order by seq").fetchall()
        assert got == [(s, t, 20.0 + s) for s, t in rows]
        # one 7-day chunk per row here: the four are weeks apart, far clocks included
        assert len(chunks(conn)) == 4


def test_ingest_dedup_and_time_bucket_match_plain_postgres(
        ts_db: psycopg.Connection[Any]) -> None:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=3)
    items = [telemetry(i, start + timedelta(minutes=7 * i), {"env.temp_c": 20 + i % 9})
             for i in range(1, 900)]
    write(ts_db, *items)
    write(ts_db, *items[:50])  # the broker redelivers after a lost PUBACK
    assert ts_db.execute("select count(*), count(distinct seq) from telemetry").fetchone() == (
        899, 899)
    assert len(chunks(ts_db)) >= 1
    end = start + timedelta(days=5)
    for width in (timedelta(minutes=5), timedelta(hours=1), timedelta(days=1)):
        tb = series.raw_series(ts_db, subjects=[ASSET], metric="env.temp_c", start=start,
                               end=end, width=width, timescale=True)
        plain = series.raw_series(ts_db, subjects=[ASSET], metric="env.temp_c", start=start,
                                  end=end, width=width, timescale=False)
        assert tb and tb == plain, width
        assert sum(p.n for p in tb) == 899


def test_retention_drops_chunks_and_rollup_partitions(ts_db: psycopg.Connection[Any]) -> None:
    now = datetime.now(UTC)
    old = datetime(2020, 1, 15, tzinfo=UTC)
    partitions.Partitions().ensure(ts_db, "telemetry_5m", [old.date().replace(day=1)])
    write(ts_db, telemetry(1, old, {"env.temp_c": 20}), telemetry(2, now, {"env.temp_c": 21}),
          telemetry(3, datetime(2001, 1, 1, tzinfo=UTC), {"env.temp_c": 22}))
    assert len(chunks(ts_db)) == 3
    ts_db.execute("update timeseries_retention set keep = '30 days'")
    done = partitions.apply_retention(ts_db, now, partitions.Partitions())
    assert done["telemetry"] == 2  # drop_chunks: the 2020 and 2001 weeks
    assert "telemetry_default" not in done
    assert done["telemetry_5m"] >= 1
    assert "telemetry_5m_p202001" not in partitions.partitions_of(ts_db, "telemetry_5m")
    assert [r[0] for r in ts_db.execute("select seq from telemetry")] == [2]
    assert partitions.apply_retention(ts_db, now)["telemetry"] == 0


def test_maintenance_leaves_the_hypertable_alone(ts_db: psycopg.Connection[Any]) -> None:
    now = datetime.now(UTC)
    # one row inside the raw retention (90 days by default), one far past it
    write(ts_db, telemetry(1, now - timedelta(days=20), {"env.temp_c": 20}),
          telemetry(2, now - timedelta(days=200), {"env.temp_c": 21}))
    Evaluator(ts_db.info.dsn).run_once(ts_db)
    # chunks inherit from the hypertable; no monthly partition was made beside them
    assert not [p for p in partitions.partitions_of(ts_db, "telemetry")
                if p.startswith("telemetry_")]
    assert f"telemetry_5m_p{now:%Y%m}" in partitions.partitions_of(ts_db, "telemetry_5m")
    # the hourly maintenance's retention went through drop_chunks
    assert [r[0] for r in ts_db.execute("select seq from telemetry")] == [1]
    assert len(chunks(ts_db)) == 1


def test_the_builds_licence_decides_the_tsl_features(ts_db: psycopg.Connection[Any]) -> None:
    info = storage.timescale_info(ts_db)
    assert info.available and info.license in ("apache", "timescale")
    if info.license == "timescale":
        assert info.compression and info.continuous_aggregates
        return
    # What Debian ships: the Apache-2 build, whose TSL entry points answer "not supported".
    assert not info.compression and not info.continuous_aggregates
    for statement in ("select add_retention_policy('telemetry', interval '90 days')",
                      "alter table telemetry set (timescaledb.compress)"):
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="license"):
            ts_db.execute(statement)
