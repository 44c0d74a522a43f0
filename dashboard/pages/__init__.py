"""One module per page: ``layout(...)`` builds the skeleton, ``register_callbacks(...)`` wires it.

district (``/``, the control-room wall), school (``/school/<id>``), equipment
(``/equipment``); shell is the navigation around them, language the shared VI/EN switch.
"""
