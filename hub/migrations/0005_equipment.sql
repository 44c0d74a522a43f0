-- Equipment (issue #6): the asset register, alarms and their lifecycle, work orders,
-- and the time-series rollups the charts read.
--
-- Schema decision: the raw `telemetry` table of 0001 stays as it is. Its primary key
-- (device_id, seq, metric) is what the ingest's ON CONFLICT targets; a range-partitioned
-- table (or a hypertable) needs the time column in every unique key, which would change
-- that statement. Instead the charts read rollup tables (5 minutes, 1 hour) that the
-- equipment evaluator keeps current from new rows, natively range-partitioned by month
-- and created ahead of need; retention is per table (timeseries_retention).

create table assets (
    tag               text primary key check (tag ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    type              text not null check (type in
                        ('projector', 'tv', 'pc', 'sensor', 'network', 'other')),
    model             text,
    serial            text,
    school_id         text not null references schools(id),
    room_id           bigint references rooms(id) on delete set null,
    purchase_date     date,
    warranty_end      date,
    rated_lamp_hours  integer check (rated_lamp_hours between 1 and 100000),
    status            text not null default 'in_service'
                        check (status in ('in_service', 'spare', 'repair', 'retired')),
    device_id         text references devices(id) on delete set null,
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    check (warranty_end is null or purchase_date is null or warranty_end >= purchase_date)
);
create index assets_school_idx on assets (school_id, room_id);
create index assets_device_idx on assets (device_id);

-- One row per alarm occurrence chain: a condition that returns while its alarm is still
-- open (not yet acknowledged after clearing) re-arms the same row.
create table alarms (
    id                bigint generated always as identity primary key,
    subject           text not null,            -- asset tag, or device id for device alarms
    asset_tag         text references assets(tag) on delete set null,
    device_id         text references devices(id) on delete set null,
    school_id         text not null references schools(id),
    type              text not null,            -- lamp_life, projector_error, threshold:<metric>, ...
    severity          text not null check (severity in ('critical', 'major', 'minor', 'warning')),
    state             text not null default 'active_unack' check (state in
                        ('active_unack', 'active_ack', 'cleared_unack', 'cleared')),
    message           text not null,
    value             text,
    raised_at         timestamptz not null,     -- hub time of the first raise
    last_raised_at    timestamptz not null,
    occurrences       integer not null default 1,
    condition_cleared_at timestamptz,
    acked_at          timestamptz,
    acked_by          text,
    ack_comment       text,
    cleared_at        timestamptz,              -- closed: no longer shown as open
    cleared_by        text,
    clear_comment     text,
    created_at        timestamptz not null default clock_timestamp()
);
-- "One open alarm per asset and type": anything not fully cleared is open.
create unique index alarms_one_open_idx on alarms (subject, type) where state <> 'cleared';
create index alarms_school_state_idx on alarms (school_id, state);
create index alarms_raised_idx on alarms (raised_at desc);

-- Who did what to an alarm, for the audit trail.
create table alarm_log (
    id                bigint generated always as identity primary key,
    alarm_id          bigint not null references alarms(id) on delete cascade,
    at                timestamptz not null default now(),
    action            text not null check (action in
                        ('raised', 're-raised', 'condition-cleared', 'acknowledged', 'cleared')),
    actor             text not null,
    comment           text
);
create index alarm_log_alarm_idx on alarm_log (alarm_id, at);

create table work_orders (
    id                bigint generated always as identity primary key,
    alarm_id          bigint references alarms(id) on delete set null,
    asset_tag         text references assets(tag) on delete set null,
    school_id         text not null references schools(id),
    state             text not null default 'open' check (state in ('open', 'closed')),
    assignee          text,
    note              text,
    opened_by         text not null,
    opened_at         timestamptz not null default now(),
    closed_by         text,
    closed_at         timestamptz,
    close_note        text
);
create unique index work_orders_one_open_per_alarm on work_orders (alarm_id) where state = 'open';
create index work_orders_school_idx on work_orders (school_id, state);

-- The evaluator reads new raw rows by hub receive time. autosummarize: a block range is
-- summarised as soon as it fills, not at the next VACUUM; an unsummarised range matches
-- every query, so without it old rows would be rescanned on every poll.
create index telemetry_received_brin on telemetry using brin (received_at)
    with (autosummarize = on);

-- Rollups: subject is the asset tag, or the device id for device-level metrics. n/sum keep
-- averages exact when buckets merge; last/last_ts give the live value.
create table telemetry_5m (
    subject           text not null,
    metric            text not null,
    bucket            timestamptz not null,
    school_id         text not null,
    n                 integer not null,
    sum               double precision not null,
    min               double precision not null,
    max               double precision not null,
    last              double precision not null,
    last_ts           timestamptz not null,
    primary key (subject, metric, bucket)
) partition by range (bucket);
create index telemetry_5m_school_idx on telemetry_5m (school_id, metric, bucket);
create index telemetry_5m_bucket_brin on telemetry_5m using brin (bucket);

create table telemetry_1h (like telemetry_5m including defaults including constraints,
                           primary key (subject, metric, bucket)) partition by range (bucket);
create index telemetry_1h_school_idx on telemetry_1h (school_id, metric, bucket);
create index telemetry_1h_bucket_brin on telemetry_1h using brin (bucket);

-- The latest value of every (subject, metric): the live state screens show, one row each.
create table telemetry_latest (
    subject           text not null,
    metric            text not null,
    device_id         text not null,
    ts                timestamptz not null,
    received_at       timestamptz not null,
    value_num         double precision,
    value_text        text,
    primary key (subject, metric)
);

-- How long each time-series table keeps its rows; changed with plain UPDATEs.
create table timeseries_retention (
    table_name        text primary key check (table_name in
                        ('telemetry', 'telemetry_5m', 'telemetry_1h')),
    keep              interval not null check (keep >= interval '1 day')
);
insert into timeseries_retention values
    ('telemetry', '90 days'), ('telemetry_5m', '400 days'), ('telemetry_1h', '5 years');

-- Small key/value state of the evaluator (its watermark), so a restart resumes.
create table equipment_state (
    key               text primary key,
    value             text not null,
    updated_at        timestamptz not null default now()
);

-- Partitions for last month to two months ahead; the evaluator keeps creating them ahead.
do $$
declare
    t text;
    m date;
begin
    foreach t in array array['telemetry_5m', 'telemetry_1h'] loop
        for i in -1..2 loop
            m := (date_trunc('month', now() at time zone 'UTC') + make_interval(months => i))::date;
            execute format(
                'create table if not exists %I partition of %I for values from (%L) to (%L)',
                t || '_p' || to_char(m, 'YYYYMM'), t,
                (m::timestamp at time zone 'UTC'),
                ((m + interval '1 month')::timestamp at time zone 'UTC'));
        end loop;
    end loop;
end $$;
