-- People leave (issue #12): a pupil who leaves the school or moves to another one, and
-- API tokens that stop working when their account's password changes.

-- When and why a pupil left. active = false is what the gates and the registers read;
-- these say why, and let the retention purge find leavers whose identifiers have been
-- kept long enough. A re-import that brings the pupil back clears them.
alter table students add column left_on date;
alter table students add column left_reason text;
create index students_left_idx on students (left_on) where not active;

-- Every leave and transfer, for the records' history: who moved whom, when, from where
-- to where. The pupil's registers (attendance_daily keeps its school per day) stay
-- where they were.
create table student_moves (
    id            bigint generated always as identity primary key,
    student_id    bigint not null references students(id) on delete cascade,
    kind          text not null check (kind in ('leave', 'transfer')),
    day           date not null,
    from_school   text not null references schools(id),
    to_school     text references schools(id),
    reason        text,
    moved_by      text not null,
    moved_at      timestamptz not null default now(),
    check ((kind = 'transfer') = (to_school is not null))
);
create index student_moves_student_idx on student_moves (student_id);

-- Bumped by every password change; a token carries the value it was issued under and
-- is refused once they differ. A counter, not a time: tokens issued before this
-- migration (without the claim) count as version 0 and keep working until expiry.
alter table users add column password_version integer not null default 0;
