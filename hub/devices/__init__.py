"""Devices: the registry (which device belongs to which school, in which role) and the
sync that keeps gates in step with the records."""
