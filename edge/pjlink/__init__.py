"""PJLink class 1: the projector control protocol on TCP 4352.

``codec`` is pure (parse answers, build commands, the MD5 handshake) and is
shared by ``client`` (a blocking socket client with timeouts, for the
thread-based agent) and ``simulator`` (an asyncio TCP server speaking the
protocol, for the tests and the demo). ``cli`` is the technician's one-shot query.
"""

from edge.pjlink.codec import PJLINK_PORT, PjlinkAuthError, PjlinkError, PjlinkProtocolError

__all__ = ["PJLINK_PORT", "PjlinkAuthError", "PjlinkError", "PjlinkProtocolError"]
