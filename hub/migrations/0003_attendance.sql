-- Attendance rules, the school calendar, teachers' corrections (audited) and the
-- parent notification outbox.

-- Per-school overrides of the level defaults in hub/attendance/rules.py (null: default).
alter table schools add column late_after_min smallint
    check (late_after_min between 0 and 240);
alter table schools add column absent_after_min smallint
    check (absent_after_min between 0 and 240);
alter table schools add column school_weekdays smallint[]  -- ISO weekdays; null: Mon-Fri
    check (school_weekdays <@ array[1, 2, 3, 4, 5, 6, 7]::smallint[]);
alter table schools add constraint schools_cutoffs_ordered
    check (late_after_min is null or absent_after_min is null
           or late_after_min <= absent_after_min);

-- Holidays and make-up days; school_id null applies to the whole district, a school's own
-- entry for the same day wins.
create table school_calendar (
    id            bigint generated always as identity primary key,
    day           date not null,
    school_id     text references schools(id) on delete cascade,
    kind          text not null check (kind in ('holiday', 'makeup')),
    note          text
);
create unique index school_calendar_day_scope_idx on school_calendar (day, coalesce(school_id, ''));

-- The API account of a class's homeroom teacher (homeroom_teacher keeps the display name).
alter table classes add column teacher_username text references users(username)
    on delete set null on update cascade;

-- The status a correction set; reports take it over the derived one.
create table attendance_overrides (
    student_id    bigint not null references students(id) on delete cascade,
    day           date not null,
    status        text not null check (status in ('present', 'late', 'absent', 'excused')),
    reason        text not null,
    corrected_by  text not null,
    corrected_at  timestamptz not null default now(),
    primary key (student_id, day)
);

-- Every correction, never updated or deleted: who, when, before, after, why.
create table attendance_corrections (
    id            bigint generated always as identity primary key,
    student_id    bigint not null references students(id) on delete cascade,
    day           date not null,
    before        jsonb not null,
    after         jsonb not null,
    reason        text not null check (length(reason) between 1 and 500),
    corrected_by  text not null,
    corrected_at  timestamptz not null default now()
);
create index attendance_corrections_student_day_idx on attendance_corrections (student_id, day);

-- Parent notifications: one row per (student, day, kind, guardian), made unique by the
-- idempotency key, so a replayed or duplicated gate event, or a second sweep, adds nothing.
create table notification_outbox (
    id               bigint generated always as identity primary key,
    idempotency_key  text not null unique,
    student_id       bigint not null references students(id) on delete cascade,
    guardian_id      bigint references guardians(id) on delete set null,
    channel          text not null check (channel in ('webhook', 'zalo', 'sms')),
    kind             text not null check (kind in ('entry', 'exit', 'absence')),
    day              date not null,
    payload          jsonb not null,
    status           text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
    attempts         integer not null default 0,
    next_attempt_at  timestamptz not null default now(),
    last_error       text,
    created_at       timestamptz not null default now(),
    sent_at          timestamptz
);
create index notification_outbox_due_idx on notification_outbox (next_attempt_at)
    where status = 'pending';
create index notification_outbox_day_idx on notification_outbox (day, student_id);

-- Small named values the notifier keeps between runs (the gate-event scan watermark).
create table notify_state (
    name          text primary key,
    at            timestamptz not null
);

-- Summaries ask for one day across all schools; the (school_id, day) index of 0001 cannot
-- serve a day-only predicate, which scanned the whole year's rollup (2.5M rows).
create index attendance_daily_day_idx on attendance_daily (day);
