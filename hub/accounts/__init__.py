"""Accounts: password hashes and tokens (``auth``), who may hold which role and who may
change whose account (``rules``, pure), and the database writes that follow (``users``)."""
