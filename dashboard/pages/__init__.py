"""One module per page: ``layout(...)`` builds the skeleton, ``register_callbacks(...)`` wires it.

The district page is the only one today; a school drill-down becomes a second module
here plus a route in dashboard.app.
"""
