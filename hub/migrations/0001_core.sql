-- Core records, device state, raw edge messages, the attendance rollup and dead letters.
-- Times are timestamptz; a school day is the date in the district's time zone.

create table schools (
    id            text primary key,           -- school code, also the {school} topic segment
    name          text not null,
    level         text not null check (level in ('mam_non', 'tieu_hoc', 'thcs', 'th_thcs')),
    ward          text not null,
    start_time    time not null default '07:00', -- lessons start; a first entry after it is late
    created_at    timestamptz not null default now()
);

create table rooms (
    id            bigint generated always as identity primary key,
    school_id     text not null references schools(id) on delete cascade,
    name          text not null,
    unique (school_id, name)
);

create table classes (
    id            bigint generated always as identity primary key,
    school_id     text not null references schools(id) on delete cascade,
    name          text not null,               -- e.g. 6A1
    grade         smallint not null check (grade between 0 and 12),  -- 0: kindergarten
    room_id       bigint references rooms(id) on delete set null,
    homeroom_teacher text,
    unique (school_id, name)
);

create table students (
    id            bigint generated always as identity primary key,
    code          text not null unique,        -- person id the edge galleries use
    school_id     text not null references schools(id),
    class_id      bigint references classes(id) on delete set null,
    full_name     text not null,               -- NFC
    birth_date    date not null,
    gender        text not null check (gender in ('M', 'F')),
    personal_id   char(12) unique,             -- số định danh cá nhân
    moet_id       text unique,                 -- mã định danh Bộ GD&ĐT
    active        boolean not null default true,
    created_at    timestamptz not null default now()
);
create index students_school_idx on students (school_id) where active;
create index students_class_idx on students (class_id);

create table cards (
    uid           text primary key check (uid ~ '^[0-9A-F]{2,32}$'),
    student_id    bigint not null references students(id) on delete cascade,
    status        text not null default 'active' check (status in ('active', 'blocked', 'lost')),
    issued_at     timestamptz not null default now()
);
create index cards_student_idx on cards (student_id);

create table devices (
    id            text primary key,            -- the {device} topic segment, globally unique
    school_id     text not null references schools(id),
    role          text not null check (role in ('gate', 'classroom')),
    room_id       bigint references rooms(id) on delete set null,
    registered_at timestamptz not null default now(),
    last_seen     timestamptz,                 -- hub receive time of its latest message
    state         text not null default 'unknown' check (state in ('unknown', 'online', 'offline')),
    state_changed_at timestamptz,
    fw            text,
    ip            text,
    boot          timestamptz
);
create index devices_school_idx on devices (school_id);

create table gate_events (
    device_id     text not null references devices(id),
    seq           bigint not null,
    ts            timestamptz not null,        -- device clock
    received_at   timestamptz not null,        -- hub clock
    school_id     text not null references schools(id),
    direction     text not null check (direction in ('in', 'out')),
    method        text not null,
    card_uid      text,
    person_ref    text,
    distance      real,
    decision      text not null check (decision in ('granted', 'denied', 'unknown')),
    reason        text,
    clock_synced  boolean,
    student_id    bigint references students(id) on delete set null,
    resolved      boolean not null,            -- false: identity not found in the records (flagged)
    primary key (device_id, seq)
);
create index gate_events_school_ts_idx on gate_events (school_id, ts desc);
create index gate_events_received_idx on gate_events using brin (received_at);
create index gate_events_student_idx on gate_events (student_id, ts) where student_id is not null;

create table telemetry (
    device_id     text not null references devices(id),
    seq           bigint not null,
    metric        text not null,
    ts            timestamptz not null,
    received_at   timestamptz not null,
    asset         text,
    value_num     double precision,            -- numbers; booleans as 0/1 too, for charts
    value_bool    boolean,
    value_text    text,
    primary key (device_id, seq, metric)
);
create index telemetry_ts_brin on telemetry using brin (ts);
create index telemetry_asset_metric_ts_idx on telemetry (asset, metric, ts desc);

create table device_status (
    device_id     text not null references devices(id),
    seq           bigint not null,
    ts            timestamptz not null,
    received_at   timestamptz not null,
    state         text not null,
    fw            text,
    role          text,
    ip            text,
    boot          timestamptz,
    primary key (device_id, seq)
);

create table device_replies (
    device_id     text not null references devices(id),
    seq           bigint not null,
    ts            timestamptz not null,
    received_at   timestamptz not null,
    cmd_id        uuid not null,
    ok            boolean not null,
    detail        jsonb,
    primary key (device_id, seq)
);

create table dead_letters (
    id            bigint generated always as identity primary key,
    topic         text not null,
    payload       bytea not null,              -- capped; payload_size keeps the real size
    payload_size  integer not null,
    reason        text not null,
    detail        text,
    received_at   timestamptz not null default now()
);
create index dead_letters_received_idx on dead_letters (received_at desc);

-- One row per student and school day, kept current by the ingest transaction.
create table attendance_daily (
    student_id    bigint not null references students(id) on delete cascade,
    day           date not null,
    school_id     text not null references schools(id),
    first_in      timestamptz,
    last_out      timestamptz,
    primary key (student_id, day)
);
create index attendance_daily_school_day_idx on attendance_daily (school_id, day);

create table users (
    username      text primary key,
    password_hash text not null,
    role          text not null check (role in
                    ('district_admin', 'school_admin', 'teacher', 'facility_manager', 'control_room')),
    school_id     text references schools(id),
    full_name     text,
    disabled      boolean not null default false,
    created_at    timestamptz not null default now()
);
