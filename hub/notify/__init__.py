"""Parent notifications: the outbox in PostgreSQL, channel adapters and the worker."""
