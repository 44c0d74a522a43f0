-- Pseudonyms that stay pseudonyms (issue 12). A pupil's person code used to be derived
-- from an identifier: '<school>-<MOET id>' (the id in clear) or '<school>-p' followed by
-- 12 hex of SHA-256(public salt || personal id), which a search of the 12-digit id space
-- reverses in seconds. Codes travel to the gates, over MQTT and through the events API.
-- New codes are random (hub/records/codes.py: '<school>-p' and 16 hex); this replaces every
-- derived code with one, drawn from gen_random_uuid() (a strong random source, built in).
--
-- Relations hold students.id, which does not change. What holds the code as text is
-- rewritten too: gate events' person_ref (what a face gate sent), the notification
-- outbox (payload and idempotency key). Each school's gallery version is bumped, so its
-- gates fetch the new codes at once (and the sync digest, which covers the codes, moves).
-- Codes that were never derived (staff '<school>-gv-<Mã cán bộ>', hand-made ones) stay.

create temporary table person_code_rekey on commit drop as
select s.id, s.school_id, s.code as old_code,
       s.school_id || '-p' || left(md5(gen_random_uuid()::text), 16) as new_code
from students s
where (s.moet_id is not null and s.code = s.school_id || '-' || s.moet_id)
   or (length(s.code) = length(s.school_id) + 14
       and left(s.code, length(s.school_id) + 2) = s.school_id || '-p'
       and right(s.code, 12) ~ '^[0-9a-f]{12}$');

update students s set code = r.new_code
from person_code_rekey r where s.id = r.id;

update gate_events e set person_ref = r.new_code
from person_code_rekey r where e.person_ref = r.old_code;

update notification_outbox o
set payload = case when o.payload ? 'student'
                   then jsonb_set(o.payload, '{student}', to_jsonb(r.new_code))
                   else o.payload end,
    idempotency_key = replace(o.idempotency_key, ':' || r.old_code || ':',
                              ':' || r.new_code || ':')
from person_code_rekey r
where o.student_id = r.id;

insert into gallery_versions (school_id, version, reason)
select distinct school_id, 1, 'person codes made random (migration 0012)'
from person_code_rekey
on conflict (school_id) do update set version = gallery_versions.version + 1,
    changed_at = now(), reason = excluded.reason;
