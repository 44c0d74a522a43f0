"""Notifications: parents' messages (entry, exit, absence) and equipment alarms to staff
(dispatch and escalation): the outbox in PostgreSQL, channel adapters and the worker."""
