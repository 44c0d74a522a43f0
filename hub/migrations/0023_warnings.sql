-- Warnings and forecasts (issue 15): conditions computed nightly from the stored data
-- (hub/warnings/rules.py decides, hub/warnings/runner.py keeps this table), each sent
-- once to whoever must act and closed when its condition clears.

-- One row per episode: a subject (a pupil's code, a class id, an asset tag, an asset and
-- alarm type) that meets a kind's condition from the day the episode opened until the
-- condition clears. The same subject meeting it again later is a new episode (a new row,
-- a new message); the unique key makes a re-run on the same day land on the same row.
create table warnings (
    id              bigint generated always as identity primary key,
    kind            text not null check (kind in ('chronic_absence', 'rising_absence',
                        'lateness', 'lamp_end_of_life', 'repeat_fault')),
    subject         text not null check (length(subject) between 1 and 200),
    episode         date not null,               -- the run's day when the episode opened
    school_id       text not null references schools(id) on delete cascade,
    student_id      bigint references students(id) on delete cascade,
    class_id        bigint references classes(id) on delete cascade,
    asset_tag       text references assets(tag) on delete cascade on update cascade,
    detail          jsonb not null,              -- the figures the rule decided on
    opened_at       timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    closed_at       timestamptz,                 -- the condition cleared
    unique (kind, subject, episode)
);
create unique index warnings_one_open_idx on warnings (kind, subject) where closed_at is null;
create index warnings_list_idx on warnings (opened_at desc, id desc);
create index warnings_school_idx on warnings (school_id, kind) where closed_at is null;

-- Each run, for the page ("computed at") and the nightly schedule (a run missed while
-- the hub was down is made up at its next start).
create table warning_runs (
    id              bigint generated always as identity primary key,
    as_of           date not null,               -- the last day the data covers
    started_at      timestamptz not null,
    finished_at     timestamptz not null,
    opened          integer not null,
    closed          integer not null,
    notified        integer not null,
    trigger         text not null check (trigger in ('nightly', 'cli', 'api', 'test'))
);
create index warning_runs_finished_idx on warning_runs (finished_at desc);

-- The notification outbox carries warning messages to staff too: neither a pupil's nor
-- an alarm's, but a warning's, under the key "warning:<kind>:<subject>:<episode>:<user>".
alter table notification_outbox add column warning_id bigint
    references warnings(id) on delete cascade;
create index notification_outbox_warning_idx on notification_outbox (warning_id)
    where warning_id is not null;

-- The kind and subject checks are extended, not rewritten: another feature may have
-- added kinds of its own to the list, which a fixed list here would silently drop.
do $$
declare
    def text;
begin
    select pg_get_constraintdef(oid) into def from pg_constraint
    where conrelid = 'notification_outbox'::regclass and conname = 'notification_outbox_kind_check';
    if def is null then
        raise exception 'notification_outbox_kind_check not found';
    end if;
    if position('''warning''' in def) = 0 then
        alter table notification_outbox drop constraint notification_outbox_kind_check;
        execute 'alter table notification_outbox add constraint notification_outbox_kind_check '
            || replace(def, 'ARRAY[', 'ARRAY[''warning''::text, ');
    end if;

    select pg_get_constraintdef(oid) into def from pg_constraint
    where conrelid = 'notification_outbox'::regclass
      and conname = 'notification_outbox_subject_check';
    if def is null then
        raise exception 'notification_outbox_subject_check not found';
    end if;
    alter table notification_outbox drop constraint notification_outbox_subject_check;
    execute 'alter table notification_outbox add constraint notification_outbox_subject_check'
        || ' check ((warning_id is not null) or ' || substr(def, 7) || ')';
end $$;
