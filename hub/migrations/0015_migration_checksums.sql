-- Each applied migration's file checksum (issue #16): `smartschool db status` names an
-- already-applied migration whose file has since been edited, which would otherwise go
-- unnoticed (a database and a fresh install would quietly differ). hub.db.migrate fills
-- it, for rows from before this migration too, with the file as it is when it first runs.
alter table schema_migrations add column if not exists checksum text;
