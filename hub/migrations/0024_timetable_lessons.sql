-- Classroom attendance (issue 14): each school's timetable, the room a classroom device's
-- sighting names, lesson corrections, and the "in school, not in class" notice.

-- One lesson of the weekly timetable. A re-import replaces the school's rows by
-- (class, weekday, period), so a lesson keeps its id while the file keeps naming it.
-- The room is the name the timetable writes (and a classroom agent's attendance config
-- repeats); the calendar (school_calendar) decides on which dates the week's lessons happen.
create table timetable_lessons (
    id            bigint generated always as identity primary key,
    school_id     text not null references schools(id) on delete cascade,
    class_id      bigint not null references classes(id) on delete cascade,
    weekday       smallint not null check (weekday between 1 and 7),  -- ISO, 1 = Monday
    period        smallint not null check (period between 1 and 15),
    starts_at     time not null,
    ends_at       time not null,
    subject       text not null check (length(subject) between 1 and 100),
    teacher       text check (length(teacher) <= 100),
    room          text not null check (length(room) between 1 and 64),
    check (starts_at < ends_at),
    unique (class_id, weekday, period)
);
create index timetable_lessons_school_idx on timetable_lessons (school_id, weekday);

-- A gate event from a classroom device names its room; null at a gate. The lesson
-- register reads a room's sightings of one day through this index.
alter table gate_events add column room text;
create index gate_events_room_idx on gate_events (school_id, room, ts) where room is not null;

-- A teacher's correction of one pupil in one lesson (the daily register's overrides are
-- per day; a day corrected to excused excuses every lesson of it too).
create table lesson_overrides (
    student_id    bigint not null references students(id) on delete cascade,
    day           date not null,
    lesson_id     bigint not null references timetable_lessons(id) on delete cascade,
    status        text not null check (status in ('present', 'late', 'absent', 'excused')),
    reason        text not null check (length(reason) between 1 and 500),
    corrected_by  text not null,
    corrected_at  timestamptz not null default now(),
    primary key (student_id, day, lesson_id)
);

-- Every lesson correction, only ever inserted: who, when, before, after, why.
create table lesson_corrections (
    id            bigint generated always as identity primary key,
    student_id    bigint not null references students(id) on delete cascade,
    day           date not null,
    lesson_id     bigint not null,
    before        jsonb not null,
    after         jsonb not null,
    reason        text not null check (length(reason) between 1 and 500),
    corrected_by  text not null,
    corrected_at  timestamptz not null default now()
);
create index lesson_corrections_student_day_idx on lesson_corrections (student_id, day);

-- "In school, not in class": a message to the class's homeroom teacher, once per pupil
-- and lesson (the idempotency key names both).
-- The kinds allowed so far are kept as they are (other features add theirs): the check is
-- rebuilt from its own definition with one more value.
do $$
declare
    def text;
begin
    select pg_get_constraintdef(c.oid) into def from pg_constraint c
    where c.conname = 'notification_outbox_kind_check'
      and c.conrelid = 'notification_outbox'::regclass;
    if def is null or position('ARRAY[' in def) = 0 then
        raise exception 'notification_outbox_kind_check is not the expected kind in (...)';
    end if;
    alter table notification_outbox drop constraint notification_outbox_kind_check;
    execute 'alter table notification_outbox add constraint notification_outbox_kind_check '
            || replace(def, 'ARRAY[', 'ARRAY[''not-in-class''::text, ');
end $$;
alter table notification_outbox add column lesson_id bigint
    references timetable_lessons(id) on delete set null;
create index notification_outbox_lesson_idx on notification_outbox (day, lesson_id)
    where lesson_id is not null;
