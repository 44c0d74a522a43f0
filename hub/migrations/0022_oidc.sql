-- Single sign-on (issue 15): a person the sector's OpenID provider signs in is a hub
-- account linked to the provider's (issuer, subject). The account row holds the role and
-- school the claims mapped to at the last sign-in or refresh, so every check that reads
-- `users` (the API per request, the dashboard per callback) sees them; `disabled` stays
-- the district's own switch, which the provider cannot undo.
create table oidc_accounts (
    issuer     text not null,
    subject    text not null,
    username   text not null unique references users (username) on delete cascade,
    -- the provider's role values and school as last seen, for whoever asks "why this role"
    claims     jsonb not null default '{}',
    first_seen timestamptz not null default now(),
    last_seen  timestamptz not null default now(),
    primary key (issuer, subject)
);

-- A dashboard sign-in through the provider: the cookie names the row; the refresh token
-- stays on the server. At refresh_due the dashboard refreshes at the provider and maps the
-- new id token's claims again; a refused refresh (the person revoked there) ends it.
create table oidc_sessions (
    id            text primary key,
    username      text not null references users (username) on delete cascade,
    refresh_token text,
    refresh_due   timestamptz not null,
    created_at    timestamptz not null default now()
);
create index oidc_sessions_username on oidc_sessions (username);
