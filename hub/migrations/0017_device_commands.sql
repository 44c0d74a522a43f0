-- Commands to devices (issue #13): every command an operator sends, who sent it, when,
-- what, and the device's answer. Ingest copies the first reply here by the command's id,
-- so the audit outlives the retention window of device_replies.
create table device_commands (
    id          uuid primary key,
    device_id   text not null references devices(id),
    school_id   text not null references schools(id),
    name        text not null,
    args        jsonb not null default '{}',
    issued_by   text not null,               -- the account's user name (kept if it goes)
    issued_at   timestamptz not null default now(),
    expires_at  timestamptz not null,
    published   boolean not null default false,  -- the broker acknowledged it (PUBACK)
    replied_at  timestamptz,
    ok          boolean,
    reply       jsonb
);
create index device_commands_device_idx on device_commands (device_id, issued_at desc);
