-- The rest of the management records: staff, guardians, card history, consents and
-- face enrollments. Every person carries the national identifiers when known.

create table staff (
    id            bigint generated always as identity primary key,
    code          text not null unique,        -- person id the edge galleries use
    school_id     text not null references schools(id),
    full_name     text not null,               -- NFC
    birth_date    date,
    gender        text check (gender in ('M', 'F')),
    personal_id   char(12) unique,             -- số định danh cá nhân
    moet_id       text unique,                 -- mã định danh Bộ GD&ĐT
    position      text,                        -- giáo viên, hiệu trưởng, bảo vệ, ...
    phone         text,
    active        boolean not null default true,
    created_at    timestamptz not null default now()
);
create index staff_school_idx on staff (school_id) where active;

create table guardians (
    id            bigint generated always as identity primary key,
    student_id    bigint not null references students(id) on delete cascade,
    full_name     text not null,
    relation      text not null check (relation in ('father', 'mother', 'guardian', 'other')),
    birth_year    smallint,
    phone         text,                        -- E.164 (+84...), for SMS and Zalo
    channel       text not null default 'none'
                  check (channel in ('none', 'webhook', 'zalo', 'sms')),
    address       text,                        -- channel-specific recipient (webhook URL, Zalo user id)
    notify        boolean not null default true,
    created_at    timestamptz not null default now(),
    unique (student_id, relation, full_name)
);
create index guardians_student_idx on guardians (student_id);

-- Cards may belong to staff too; the holder is exactly one of student and staff.
alter table cards alter column student_id drop not null;
alter table cards add column staff_id bigint references staff(id) on delete cascade;
alter table cards add constraint cards_one_holder
    check ((student_id is null) <> (staff_id is null));
create index cards_staff_idx on cards (staff_id);

-- Every change of a card's holder or status, for the register's history.
create table card_history (
    id            bigint generated always as identity primary key,
    uid           text not null,
    student_id    bigint references students(id) on delete set null,
    staff_id      bigint references staff(id) on delete set null,
    status        text not null,
    changed_at    timestamptz not null default now(),
    changed_by    text,
    note          text
);
create index card_history_uid_idx on card_history (uid, changed_at);

-- Consent to biometric processing (Decree 13/2023): from the guardian, and from the
-- child too when aged 7 or over. Withdrawal deletes the encodings everywhere.
create table consents (
    id            bigint generated always as identity primary key,
    student_id    bigint references students(id) on delete cascade,
    staff_id      bigint references staff(id) on delete cascade,
    purpose       text not null default 'face' check (purpose in ('face')),
    given_by      text not null,               -- who: the guardian's or the person's name
    given_by_role text not null check (given_by_role in ('guardian', 'self')),
    given_at      timestamptz not null,
    method        text not null,               -- how: paper form, app, ...
    withdrawn_at  timestamptz,
    recorded_by   text,
    check ((student_id is null) <> (staff_id is null))
);
create index consents_student_idx on consents (student_id);

create table face_enrollments (
    id            bigint generated always as identity primary key,
    student_id    bigint references students(id) on delete cascade,
    staff_id      bigint references staff(id) on delete cascade,
    encoding      bytea not null,              -- 128 float32, never the photo
    created_at    timestamptz not null default now(),
    created_by    text,
    check ((student_id is null) <> (staff_id is null))
);
create index face_enrollments_student_idx on face_enrollments (student_id);
create index face_enrollments_staff_idx on face_enrollments (staff_id);

-- A staff member's passage resolves to staff, not to a student.
alter table gate_events add column staff_id bigint references staff(id) on delete set null;
