"""Read queries shared by the API and the dashboard: one place for the SQL they both show."""
