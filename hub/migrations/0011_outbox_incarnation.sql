-- Outbox identity (issue #11): the ingest key becomes (device, incarnation, seq).
--
-- A gate whose SD card is replaced starts its seq at 0 again; under (device_id, seq)
-- its new events were dropped as "duplicates" of the old ones. Each outbox now has an
-- incarnation id (`inc` in the payload, docs/protocol.md); the key carries it, so a new
-- outbox's sequence is a new sequence. Messages without `inc` (v1 devices, every row
-- stored before this migration) have the fixed legacy incarnation '' and keep their key.
--
-- A constant default is a catalogue-only change in PostgreSQL 11+: no table rewrite.
-- The primary keys are rebuilt (one index build per table). device_status and
-- device_replies take the same key: their seqs come from the same per-outbox counter, and
-- a new outbox's `online` must not be dropped as a duplicate either.
alter table gate_events add column inc text not null default '';
alter table gate_events drop constraint gate_events_pkey;
alter table gate_events add primary key (device_id, inc, seq);

alter table telemetry add column inc text not null default '';
alter table telemetry drop constraint telemetry_pkey;
alter table telemetry add primary key (device_id, inc, seq, metric, ts);

alter table device_status add column inc text not null default '';
alter table device_status drop constraint device_status_pkey;
alter table device_status add primary key (device_id, inc, seq);

alter table device_replies add column inc text not null default '';
alter table device_replies drop constraint device_replies_pkey;
alter table device_replies add primary key (device_id, inc, seq);
