"""Exchange with the city (issue 15): the change feed, its cursors and its documents."""
