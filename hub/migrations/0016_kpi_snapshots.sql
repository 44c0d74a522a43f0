-- The plan's targets (issue #13): each indicator's numerator and denominator per month,
-- for the district, each ward and each school, so a trend survives later edits of the
-- records it was computed from. Written on each month's last day by the hub's hourly
-- maintenance (the last run of the day wins) and by `smartschool kpi snapshot`.
create table kpi_snapshots (
    month         date not null check (extract(day from month) = 1),
    scope         text not null check (scope in ('district', 'ward', 'school')),
    scope_id      text not null,               -- '' for the district, the ward, the school id
    indicator     text not null,
    numerator     integer not null check (numerator >= 0),
    denominator   integer not null check (denominator >= numerator),
    target        real not null,
    taken_at      timestamptz not null default now(),
    primary key (month, scope, scope_id, indicator)
);
create index kpi_snapshots_scope_idx on kpi_snapshots (scope, scope_id, indicator, month);
