-- Alarm dispatch (issue #13): a new major alarm is sent to the school's facility managers
-- through the notification outbox, and escalated to the district when nobody
-- acknowledges it in time. The recipients are accounts, so their contacts live on them.

-- How an account is reached: a channel of the notifier and its address on it. 'none'
-- (the default) reaches nobody; an account that was never given a contact is not sent to.
alter table users add column notify_channel text not null default 'none'
    check (notify_channel in ('none', 'webhook', 'zalo', 'sms'));
alter table users add column phone text check (phone ~ '^\+?[0-9]{8,15}$');
alter table users add column zalo_id text check (length(zalo_id) between 1 and 64);
-- Where the webhook channel posts for this account; null: the district's configured URL.
alter table users add column webhook_url text
    check (webhook_url ~ '^https?://' and length(webhook_url) <= 500);

-- The outbox carries messages to staff as well as to parents: an alarm message has no
-- pupil, but an alarm and the account it is for. Its idempotency key
-- ("<stage>:<alarm id>:<username>") makes each dispatch and escalation happen once.
alter table notification_outbox alter column student_id drop not null;
alter table notification_outbox drop constraint notification_outbox_kind_check;
alter table notification_outbox add constraint notification_outbox_kind_check
    check (kind in ('entry', 'exit', 'absence', 'alarm', 'alarm-escalation'));
alter table notification_outbox add column alarm_id bigint
    references alarms(id) on delete cascade;
alter table notification_outbox add column username text
    references users(username) on delete set null on update cascade;
alter table notification_outbox add constraint notification_outbox_subject_check
    check ((student_id is not null) or (alarm_id is not null));
create index notification_outbox_alarm_idx on notification_outbox (alarm_id)
    where alarm_id is not null;
