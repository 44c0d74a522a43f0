-- The fleet view (issue #13): what a device last said about itself in its status
-- (docs/protocol.md, status: config_version, backlog, clock_synced), kept on the device
-- row beside fw, last_seen and state, with when it said so.
-- A Last Will carries none of them, so they keep the last value a live device reported.
alter table devices add column config_version text;
alter table devices add column outbox_backlog integer;
alter table devices add column clock_synced boolean;
alter table devices add column reported_at timestamptz;
-- Set by `smartschool devices decommission`: the row and its history stay, apart.
alter table devices add column decommissioned_at timestamptz;

alter table device_status add column config_version text;
alter table device_status add column backlog integer;
alter table device_status add column clock_synced boolean;
