-- Classroom attendance in the exchange feed (issue 14): kind lesson_attendance, one
-- document per learner and day (hub/attendance/lessons_feed.py builds it when the feed is
-- read). Its statuses are derived, and change as lessons pass their cutoffs without any
-- row changing: the notifier's lesson sweep logs the pupils of each class whose lesson
-- just passed its cutoff; corrections are logged here, by trigger.

-- The kinds allowed so far are kept (other features may add theirs): the check is rebuilt
-- from its own definition with one more value.
do $$
declare
    def text;
begin
    select pg_get_constraintdef(c.oid) into def from pg_constraint c
    where c.conname = 'exchange_changes_kind_check'
      and c.conrelid = 'exchange_changes'::regclass;
    if def is null or position('ARRAY[' in def) = 0 then
        raise exception 'exchange_changes_kind_check is not the expected kind in (...)';
    end if;
    alter table exchange_changes drop constraint exchange_changes_kind_check;
    execute 'alter table exchange_changes add constraint exchange_changes_kind_check '
            || replace(def, 'ARRAY[', 'ARRAY[''lesson_attendance''::text, ');
end $$;

-- A lesson's or a day's correction changes the learner's lessons of that day.
create function exchange_log_lesson_attendance() returns trigger language plpgsql as $$
declare
    r record;
    code text;
begin
    if tg_op = 'DELETE' then r := old; else r := new; end if;
    select s.code into code from students s where s.id = r.student_id;
    if code is not null then
        insert into exchange_changes (kind, key, op)
        values ('lesson_attendance', code || '/' || r.day::text, 'upsert');
    end if;
    return null;
end $$;

create trigger lesson_overrides_exchange after insert or update or delete on lesson_overrides
    for each row execute function exchange_log_lesson_attendance();
create trigger attendance_overrides_lessons_exchange
    after insert or update or delete on attendance_overrides
    for each row execute function exchange_log_lesson_attendance();
