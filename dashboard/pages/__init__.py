"""One module per page: ``layout(...)`` builds the skeleton, ``register_callbacks(...)`` wires it.

district (``/``, the control-room wall), school (``/school/<id>``), equipment
(``/equipment``); shell is the navigation around them, language the shared VI/EN switch.
Each page reads (and the equipment page acts) only through its module in dashboard.data
and draws only with its module in dashboard.builders; no page imports the hub.
"""
