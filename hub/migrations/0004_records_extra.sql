-- What the records import, consent and enrollment need beyond 0002.

-- The hub side of "resync the gates": every change to a school's face enrollments
-- (an enrollment, a deletion, a consent withdrawn) bumps its version in the same
-- transaction. A gallery publisher compares the version a gate holds with this one and
-- pushes a fresh gallery when they differ; the transport to the gates comes later.
create table gallery_versions (
    school_id     text primary key references schools(id) on delete cascade,
    version       bigint not null default 0,
    changed_at    timestamptz not null default now(),
    reason        text
);

-- Which consents an enrollment rests on, so an audit can show who agreed, when and how,
-- for every stored encoding.
alter table face_enrollments add column consent_ids bigint[] not null default '{}';

create index consents_staff_idx on consents (staff_id);
create index consents_active_idx on consents (student_id, given_by_role) where withdrawn_at is null;
