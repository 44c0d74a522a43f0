-- Keeping gates in sync with the records (issues #4, #5): a gate fetches its school's
-- cards and face gallery from the hub with a device token, and the hub tells it when to.

-- The device token: only its SHA-256 is kept, so a copy of the database does not open
-- the sync API. Issuing a new token overwrites the hash, which revokes the old one.
alter table devices add column token_hash text unique check (token_hash ~ '^[0-9a-f]{64}$');
alter table devices add column token_issued_at timestamptz;

-- A school's sync version: bumped whenever what its gates must hold changes, i.e. the
-- gallery version (every enrollment, deletion and consent withdrawal bumps it) or the
-- digest of its cards and of the gallery's membership (catching what no bump marks: a
-- card lost or reassigned, a pupil who left or moved school). Monotonic, so an operator
-- can tell that a gate holding 41 is behind a school at 43.
create table school_sync (
    school_id       text primary key references schools(id) on delete cascade,
    version         bigint not null check (version >= 1),
    gallery_version bigint not null,
    digest          text not null,
    changed_at      timestamptz not null default now()
);

-- The last sync-gallery command the hub published to each gate: a restarted hub resends
-- nothing already sent, yet pushes whatever changed while it was down. cmd_id lets the
-- publisher find the gate's reply and retry a sync that failed.
create table device_sync_pushes (
    device_id       text primary key references devices(id) on delete cascade,
    version         bigint not null,
    cmd_id          uuid not null,
    pushed_at       timestamptz not null default now()
);

-- The seq of hub -> device commands (docs/protocol.md: strictly increasing per device, kept
-- across restarts). One sequence for all devices is increasing per device too.
create sequence device_cmd_seq;
