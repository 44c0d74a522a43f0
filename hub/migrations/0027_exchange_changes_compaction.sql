-- The exchange feed's change log is compacted instead of growing for ever (issue 15).
--
-- The feed sends each changed row's document as the row is *now*, so of several changes
-- to one (kind, key) only the newest says anything: a consumer behind it still meets
-- that newest one after its cursor, and one ahead of all of them has already read it.
-- The hourly maintenance (hub.records.retention.compact_exchange_changes) therefore
-- deletes every change that a newer change of the same key follows; the log stays about
-- as long as the number of keys ever changed. This index finds the newer change.
create index exchange_changes_key_idx on exchange_changes (kind, key, xid, seq);
