-- Exchange with the city, the push (issue 15): systems that cannot pull the feed get the
-- same documents POSTed to them on a schedule, signed, once per endpoint, kind and period.
-- Sending, retries with backoff and giving up go through the notification outbox; this
-- migration adds where to send and what was pushed.

-- Where to push: a receiver's URL, the HMAC key both sides hold, and what it wants. The
-- key is stored as given: the hub needs it to sign, and no API answer ever shows it again.
create table exchange_endpoints (
    id          bigint generated always as identity primary key,
    name        text not null unique check (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    url         text not null check (url ~ '^https?://[^\s]+$' and length(url) <= 500),
    secret      text not null check (length(secret) between 16 and 200),
    kinds       text[] not null check (cardinality(kinds) > 0 and kinds <@
                    array['attendance_daily_aggregate', 'kpi_snapshot']::text[]),
    created_at  timestamptz not null default now(),
    created_by  text
);

-- The ledger of what was pushed: one row per (endpoint, kind, period), taken in the same
-- transaction as the outbox row it names, so two hub processes, a repeated pass or a
-- manual push never send a period twice. Kept apart from the outbox so the outbox's
-- retention purge cannot make an old period look new again.
create table exchange_pushes (
    endpoint_id  bigint not null references exchange_endpoints(id) on delete cascade,
    kind         text not null check (kind in ('attendance_daily_aggregate', 'kpi_snapshot')),
    period       date not null,
    delivery_id  text not null unique,
    created_at   timestamptz not null default now(),
    primary key (endpoint_id, kind, period)
);

-- The outbox carries pushes on a channel of their own, which the parents' notifier never
-- claims (it claims only the channels it has adapters for). A push has no pupil and no
-- alarm but an endpoint; an endpoint removed leaves its history with a null endpoint.
alter table notification_outbox drop constraint notification_outbox_channel_check;
alter table notification_outbox add constraint notification_outbox_channel_check
    check (channel in ('webhook', 'zalo', 'sms', 'exchange'));
alter table notification_outbox drop constraint notification_outbox_kind_check;
alter table notification_outbox add constraint notification_outbox_kind_check
    check (kind in ('entry', 'exit', 'absence', 'alarm', 'alarm-escalation',
                    'attendance_daily_aggregate', 'kpi_snapshot'));
alter table notification_outbox add column endpoint_id bigint
    references exchange_endpoints(id) on delete set null;
alter table notification_outbox drop constraint notification_outbox_subject_check;
alter table notification_outbox add constraint notification_outbox_subject_check
    check ((student_id is not null) or (alarm_id is not null) or (channel = 'exchange'));
-- The deliveries list pages by id, newest first, over pushes only.
create index notification_outbox_exchange_idx on notification_outbox (id)
    where channel = 'exchange';
