-- The hub trusts the account, not the payload (issue #11): what a gate's sync token may
-- fetch, how long it lives, and a way to revoke it without issuing another.

-- A face gate decides by face and needs the school's face gallery; a card-only gate (the
-- default) never receives biometric data. `smartschool devices add ... --face` sets it.
alter table devices add column face boolean not null default false;
alter table devices add constraint devices_face_is_a_gate check (not face or role = 'gate');

-- Fixed when the token is issued: what it opens ('cards', 'faces'), until when, and
-- whether it was revoked. The sync API grants what the token carries AND the device
-- still may, so marking a gate card-only takes effect at once, while a token issued to
-- a card-only gate never starts opening the gallery without being issued again.
alter table devices add column token_capabilities text[] not null default '{}'
    check (token_capabilities <@ array['cards', 'faces']::text[]);
alter table devices add column token_expires_at timestamptz;
alter table devices add column token_revoked_at timestamptz;

-- Gates already in the field keep working. Their face capability was never recorded;
-- a gate that has recognised someone by face is a face gate (one that has not yet must
-- be marked with `devices add --face` and issued a new token). Their tokens get their
-- device's capabilities and a full lifetime from now (the default of
-- SMARTSCHOOL_DEVICE_TOKEN_DAYS).
update devices d set face = true
 where d.role = 'gate'
   and exists (select 1 from gate_events e where e.device_id = d.id and e.method = 'face');
update devices
   set token_capabilities = case when face then array['cards', 'faces']::text[]
                                 else array['cards']::text[] end,
       token_expires_at = now() + interval '365 days'
 where token_hash is not null;
