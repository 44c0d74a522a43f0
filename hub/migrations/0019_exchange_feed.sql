-- Exchange with the city (issue 15): a change log the feed (GET /api/v1/feed) reads
-- with a keyset, and machine accounts (role exchange) that may read only that.

alter table users drop constraint users_role_check;
alter table users add constraint users_role_check check (role in
    ('district_admin', 'school_admin', 'teacher', 'facility_manager', 'control_room',
     'exchange'));

-- One row per change of a record the city holds: which kind, its identity (what the
-- documents are keyed by), and whether it now exists. The document itself is built when
-- the feed is read, from the row as it is then, so this log holds no personal data and a
-- purge of the tables (retention) is not undone by a copy here.
--
-- The keyset is (xid, seq): xid is the writing transaction's id (top-level even inside a
-- savepoint). A sequence alone is not enough: seq values are taken when rows are written,
-- not when they commit, so a transaction holding seq 9 can commit after one holding 10
-- has been read, and a reader keyed on seq alone would skip 9 for ever. The feed reads
-- only rows whose xid is below pg_snapshot_xmin of its snapshot: every transaction below
-- it has finished, so no row can ever appear behind a cursor handed out, and rows of the
-- transactions still in flight wait for the next read (hub/exchange/feed.py).
create table exchange_changes (
    xid           xid8 not null default pg_current_xact_id(),
    seq           bigint generated always as identity,
    kind          text not null check (kind in
                    ('school', 'learner', 'staff', 'attendance_daily', 'equipment',
                     'kpi_snapshot')),
    key           text not null,
    op            text not null check (op in ('upsert', 'delete')),
    primary key (xid, seq)
);

-- Arguments: the kind and the column that is its key.
create function exchange_log() returns trigger language plpgsql as $$
declare
    new_key text;
    old_key text;
begin
    if tg_op in ('INSERT', 'UPDATE') then
        new_key := to_jsonb(new) ->> tg_argv[1];
    end if;
    if tg_op in ('UPDATE', 'DELETE') then
        old_key := to_jsonb(old) ->> tg_argv[1];
    end if;
    -- A changed identity (a person code replaced) is the old document gone and a new one.
    if old_key is not null and old_key is distinct from new_key then
        insert into exchange_changes (kind, key, op) values (tg_argv[0], old_key, 'delete');
    end if;
    if new_key is not null then
        insert into exchange_changes (kind, key, op) values (tg_argv[0], new_key, 'upsert');
    end if;
    return null;
end $$;

-- Daily attendance is keyed by the learner's code and the day; a row whose pupil is
-- already gone (a cascade) is covered by the learner's own delete.
create function exchange_log_attendance() returns trigger language plpgsql as $$
declare
    r record;
    code text;
begin
    if tg_op = 'DELETE' then r := old; else r := new; end if;
    select s.code into code from students s where s.id = r.student_id;
    if code is not null then
        insert into exchange_changes (kind, key, op)
        values ('attendance_daily', code || '/' || r.day::text,
                case when tg_op = 'DELETE' then 'delete' else 'upsert' end);
    end if;
    return null;
end $$;

create trigger schools_exchange after insert or update or delete on schools
    for each row execute function exchange_log('school', 'id');
create trigger students_exchange after insert or update or delete on students
    for each row execute function exchange_log('learner', 'code');
create trigger staff_exchange after insert or update or delete on staff
    for each row execute function exchange_log('staff', 'code');
create trigger assets_exchange after insert or update or delete on assets
    for each row execute function exchange_log('equipment', 'tag');
-- Ingest rewrites a day's row with every passage; only a real change is a change.
create trigger attendance_daily_exchange after insert or delete on attendance_daily
    for each row execute function exchange_log_attendance();
create trigger attendance_daily_exchange_update after update on attendance_daily
    for each row when (old is distinct from new) execute function exchange_log_attendance();

-- A KPI snapshot (migration 0016) is keyed by month/scope/scope_id/indicator.
create function exchange_log_kpi() returns trigger language plpgsql as $$
begin
    if tg_op in ('UPDATE', 'DELETE') then
        if tg_op = 'DELETE' or (old.month, old.scope, old.scope_id, old.indicator)
                is distinct from (new.month, new.scope, new.scope_id, new.indicator) then
            insert into exchange_changes (kind, key, op) values ('kpi_snapshot',
                concat_ws('/', old.month, old.scope, old.scope_id, old.indicator), 'delete');
        end if;
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        insert into exchange_changes (kind, key, op) values ('kpi_snapshot',
            concat_ws('/', new.month, new.scope, new.scope_id, new.indicator), 'upsert');
    end if;
    return null;
end $$;

create trigger kpi_snapshots_exchange after insert or update or delete on kpi_snapshots
    for each row execute function exchange_log_kpi();

-- Documents built from more than their own row: a pupil's new person code re-keys their
-- days; a class renamed changes its pupils' documents, a room renamed its assets'.
create function exchange_log_related() returns trigger language plpgsql as $$
begin
    if tg_table_name = 'students' then
        insert into exchange_changes (kind, key, op)
        select 'attendance_daily', c.code || '/' || a.day::text, c.op
          from attendance_daily a,
               lateral (values (old.code, 'delete'), (new.code, 'upsert')) as c(code, op)
         where a.student_id = new.id;
    elsif tg_table_name = 'classes' then
        insert into exchange_changes (kind, key, op)
        select 'learner', s.code, 'upsert' from students s where s.class_id = new.id;
    else
        insert into exchange_changes (kind, key, op)
        select 'equipment', a.tag, 'upsert' from assets a where a.room_id = new.id;
    end if;
    return null;
end $$;

create trigger students_exchange_days after update of code on students
    for each row when (old.code is distinct from new.code)
    execute function exchange_log_related();
create trigger classes_exchange after update of name on classes
    for each row when (old.name is distinct from new.name)
    execute function exchange_log_related();
create trigger rooms_exchange after update of name on rooms
    for each row when (old.name is distinct from new.name)
    execute function exchange_log_related();

-- What is already there is where a consumer starting from the empty cursor begins.
insert into exchange_changes (kind, key, op)
select 'school', id, 'upsert' from schools
union all select 'learner', code, 'upsert' from students
union all select 'staff', code, 'upsert' from staff
union all select 'equipment', tag, 'upsert' from assets
union all select 'attendance_daily', s.code || '/' || a.day::text, 'upsert'
    from attendance_daily a join students s on s.id = a.student_id
union all select 'kpi_snapshot', concat_ws('/', month, scope, scope_id, indicator), 'upsert'
    from kpi_snapshots;
