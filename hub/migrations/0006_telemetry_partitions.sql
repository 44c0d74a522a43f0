-- Raw telemetry partitioned by time (issue #6): replaces the plain table of 0001.
--
-- A partitioned table (or a hypertable) needs the partitioning column in every unique
-- key, so the primary key becomes (device_id, seq, metric, ts). A replayed message
-- carries the same ts, so `on conflict (device_id, seq, metric, ts) do nothing` in
-- hub/store.py still stores it once.
--
-- Two layouts, chosen here at migration time:
-- - TimescaleDB installed (or installable) in this database: `telemetry` stays a plain
--   table and becomes a hypertable on ts (create_hypertable ... migrate_data).
-- - Otherwise: native range partitions by month (telemetry_pYYYYMM) from the retention
--   window's first month with data to two months ahead, plus telemetry_default for rows
--   whose ts falls outside every partition (a device clock far off), so an ingest batch
--   never fails for want of a partition. The equipment evaluator's hourly maintenance
--   keeps creating partitions ahead, moves rows out of the default partition when it
--   creates their month, and applies retention by dropping whole partitions.
-- The indexes are the same either way: BRIN on ts, BRIN on received_at (the evaluator's
-- watermark read), btree (asset, metric, ts desc) for the charts.

do $$
begin
    if not exists (select 1 from pg_extension where extname = 'timescaledb')
       and exists (select 1 from pg_available_extensions where name = 'timescaledb') then
        begin
            create extension if not exists timescaledb;
        exception when others then
            -- available but not loadable (not in shared_preload_libraries): plain path
            raise notice 'timescaledb not usable here (%): native partitions', sqlerrm;
        end;
    end if;
end $$;

do $$
declare
    keep interval;
    first_month date;
    m date;
begin
    if exists (select 1 from pg_extension where extname = 'timescaledb') then
        -- a hypertable is a plain table to the catalogue: same indexes, chunked by Timescale
        alter table telemetry drop constraint telemetry_pkey;
        alter table telemetry add primary key (device_id, seq, metric, ts);
        perform create_hypertable('telemetry', 'ts', chunk_time_interval => interval '7 days',
                                  migrate_data => true);
        return;
    end if;

    alter table telemetry rename to telemetry_unpartitioned;
    alter table telemetry_unpartitioned rename constraint telemetry_pkey
        to telemetry_unpartitioned_pkey;
    alter index telemetry_ts_brin rename to telemetry_unpartitioned_ts_brin;
    alter index telemetry_asset_metric_ts_idx rename to telemetry_unpartitioned_amt_idx;
    alter index telemetry_received_brin rename to telemetry_unpartitioned_received_brin;
    alter table telemetry_unpartitioned rename constraint telemetry_device_id_fkey
        to telemetry_unpartitioned_device_id_fkey;

    create table telemetry (
        device_id     text not null references devices(id),
        seq           bigint not null,
        metric        text not null,
        ts            timestamptz not null,
        received_at   timestamptz not null,
        asset         text,
        value_num     double precision,
        value_bool    boolean,
        value_text    text,
        primary key (device_id, seq, metric, ts)
    ) partition by range (ts);
    create index telemetry_ts_brin on telemetry using brin (ts);
    create index telemetry_asset_metric_ts_idx on telemetry (asset, metric, ts desc);
    create index telemetry_received_brin on telemetry using brin (received_at)
        with (autosummarize = on);
    create table telemetry_default partition of telemetry default;

    -- Months of the retention window that hold rows, and last month to two ahead.
    select r.keep into keep from timeseries_retention r where r.table_name = 'telemetry';
    first_month := date_trunc('month', (now() - coalesce(keep, interval '90 days'))
                              at time zone 'UTC')::date;
    for m in
        select distinct date_trunc('month', ts at time zone 'UTC')::date
        from telemetry_unpartitioned
        where ts >= (first_month::timestamp at time zone 'UTC')
          and ts < (date_trunc('month', now() at time zone 'UTC') + interval '3 months')
                   at time zone 'UTC'
        union
        select (date_trunc('month', now() at time zone 'UTC') + make_interval(months => i))::date
        from generate_series(-1, 2) i
        order by 1
    loop
        execute format(
            'create table %I partition of telemetry for values from (%L) to (%L)',
            'telemetry_p' || to_char(m, 'YYYYMM'),
            (m::timestamp at time zone 'UTC'),
            ((m + interval '1 month')::timestamp at time zone 'UTC'));
    end loop;

    insert into telemetry (device_id, seq, metric, ts, received_at, asset, value_num,
                           value_bool, value_text)
    select device_id, seq, metric, ts, received_at, asset, value_num, value_bool, value_text
    from telemetry_unpartitioned order by ts;
    drop table telemetry_unpartitioned;
end $$;
