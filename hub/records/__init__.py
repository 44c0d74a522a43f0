"""Management records: import and export of the education database's lists, consent to
biometric processing, face enrollment on the hub, and retention of raw gate events."""
