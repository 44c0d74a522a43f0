"""Projectors: what a classroom agent reads about them, over PJLink class 1 (TCP 4352).

``source`` is the interface the classroom agent polls (a real projector or a simulated
one); ``codec`` is the pure protocol (parse answers, build commands, the MD5 handshake),
shared by ``client`` (a blocking socket client with timeouts) and the demo's simulator
(``smartschool.demo.pjlink_simulator``). The technician's one-shot query is
``smartschool edge pjlink``.
"""

from edge.projector.codec import PJLINK_PORT, PjlinkAuthError, PjlinkError, PjlinkProtocolError

__all__ = ["PJLINK_PORT", "PjlinkAuthError", "PjlinkError", "PjlinkProtocolError"]
