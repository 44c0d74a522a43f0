"""Every read the dashboard pages make, one module per page."""
