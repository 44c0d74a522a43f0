"""Accounts: password hashes and tokens (``auth``), who may hold which role and the
writes that follow (``users``)."""
