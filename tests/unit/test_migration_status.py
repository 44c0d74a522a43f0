"""Pure parts of `db status` and `db backup --keep` (issue #16), as tables of cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from hub.backup import backup_name, backups_to_prune
from hub.db import AppliedMigration, Migration, compare_migrations

A = Migration(1, "core", "create table a ();")
B = Migration(2, "more", "create table b ();")


def applied(m: Migration, checksum: str | None = "same") -> AppliedMigration:
    return AppliedMigration(m.version, m.name, m.checksum if checksum == "same" else checksum)


@pytest.mark.parametrize(
    ("available", "rows", "pending", "changed", "unknown"),
    [
        ([A, B], [], [2, 1], [], []),
        ([A, B], [applied(A)], [2], [], []),
        ([A, B], [applied(A), applied(B)], [], [], []),
        # applied before checksums were kept: nothing to compare against
        ([A, B], [applied(A, None), applied(B)], [], [], []),
        ([A, B], [applied(A, "0" * 64), applied(B)], [], [(1, "core")], []),
        ([B], [applied(A), applied(B)], [], [], [(1, "core")]),
    ],
)
def test_compare_migrations(available, rows, pending, changed, unknown) -> None:
    status = compare_migrations(available, rows)
    assert sorted(m.version for m in status.pending) == sorted(pending)
    assert status.changed == changed and status.unknown == unknown
    assert status.applied == sorted(r.version for r in rows)
    assert status.ok == (not pending and not changed and not unknown)


def test_a_one_byte_edit_changes_the_checksum() -> None:
    assert Migration(1, "core", A.sql + " ").checksum != A.checksum
    assert Migration(7, "other_name", A.sql).checksum == A.checksum  # the file's text only


T0 = datetime(2026, 12, 7, 1, 2, 3, tzinfo=UTC)
NAMES = [backup_name(T0 + timedelta(days=d)) for d in range(4)]


@pytest.mark.parametrize(
    ("names", "keep", "gone"),
    [
        (NAMES, 0, []),
        (NAMES, 2, NAMES[:2]),
        (list(reversed(NAMES)), 3, NAMES[:1]),
        (NAMES, 10, []),
        # files that are not ours, and unfinished dumps, are never pruned
        ([*NAMES, "notes.txt", NAMES[0] + ".partial"], 1, NAMES[:3]),
    ],
)
def test_backups_to_prune(names, keep, gone) -> None:
    assert backups_to_prune(names, keep) == gone


def test_backup_names_are_utc_and_sort_by_time() -> None:
    hanoi = timezone(timedelta(hours=7))
    assert backup_name(T0.astimezone(hanoi)) == "smartschool-20261207T010203Z.dump"
    assert sorted(NAMES) == NAMES
