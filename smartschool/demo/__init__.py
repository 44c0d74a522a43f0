"""``smartschool demo`` and what it runs on: embedded PostgreSQL and broker, the simulated
district and its school day, the simulator driving real agent code, and the seed data."""
