"""Who may do what on the broker: the dynamic security roles, as data (pure).

Mosquitto 2.0's dynamic security plugin does not substitute ``%u``/``%c`` in ACL topics
(checked against Debian 12's 2.0.11: a ``ss/v1/+/%u/event`` grant denies the device's own
publish), so a device's grants name its school and id literally, in a role of its own
(``device-{id}``), created with its account and deleted with it. The other accounts
share fixed roles written by ``smartschool broker init``.

Every role lists both halves of reading, ``subscribePattern`` (may subscribe) and
``publishClientReceive`` (may be sent): the broker's default for both is deny, so a
subscription to ``ss/v1/#`` by anyone but the hub is refused, and even a filter that
slipped through would deliver nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from protocol.topics import DEVICE_CHANNELS, Channel, Topic

AclType = Literal["publishClientSend", "publishClientReceive", "subscribePattern",
                  "subscribeLiteral", "unsubscribePattern"]

# Accounts written by `smartschool broker init` (user name = client id, except the hub's).
HUB_USER: Final = "smartschool-hub"
DASHBOARD_USER: Final = "smartschool-dashboard"
OPERATOR_USER: Final = "smartschool-operator"
ADMIN_USER: Final = "smartschool-admin"

DEVICE_ROLES: Final = ("gate", "classroom")
ALL_DEVICES: Final = "ss/v1/#"
# Hub workers read through the MQTT 5 shared subscription $share/hub/... (SHARE_GROUP in
# hub/ingest/worker.py); Mosquitto 2.0 checks a subscription with its $share prefix.
SHARED_ALL_DEVICES: Final = "$share/hub/ss/v1/#"
CONTROL: Final = "$CONTROL/dynamic-security/#"

# What a device writes, by role (docs/protocol.md "Topics"). A classroom agent writes
# `event` too since its attendance role (issue 14): sightings at its room's door. The hub
# stores a classroom's event only when it names a room, and a gate's only when it names
# none (hub/ingest/routing.py), so neither account can stand in for the other.
DEVICE_WRITES: Final[dict[str, tuple[Channel, ...]]] = {
    "gate": (Channel.EVENT, Channel.TELEMETRY, Channel.STATUS, Channel.REPLY),
    "classroom": (Channel.EVENT, Channel.TELEMETRY, Channel.STATUS, Channel.REPLY),
}
# What the hub sends a device (its commands, sync-gallery among them): every channel
# that is not one a device publishes on.
HUB_TO_DEVICE: Final = tuple(ch for ch in Channel if ch not in DEVICE_CHANNELS)


@dataclass(frozen=True, slots=True)
class Grant:
    acltype: AclType
    topic: str

    def as_json(self) -> dict[str, object]:
        return {"acltype": self.acltype, "topic": self.topic, "allow": True}


def _read(topic: str) -> tuple[Grant, Grant]:
    return Grant("subscribePattern", topic), Grant("publishClientReceive", topic)


def device_role_name(device: str) -> str:
    return f"device-{device}"


def device_grants(role: str, school: str, device: str) -> tuple[Grant, ...]:
    """A device's own topics: write its channels, read what the hub sends it; nothing
    else."""
    if role not in DEVICE_WRITES:
        raise ValueError(f"role {role!r} is not one of {', '.join(DEVICE_ROLES)}")
    writes = tuple(Grant("publishClientSend", str(Topic(school, device, ch)))
                   for ch in DEVICE_WRITES[role])
    reads = tuple(g for ch in HUB_TO_DEVICE for g in _read(str(Topic(school, device, ch))))
    return writes + reads + (Grant("unsubscribePattern", "#"),)


# The fixed roles, by name. The hub is the one reader of the whole district; the
# dashboard sees presence only; operators may command a device and read its answers;
# the admin account administers accounts and reads no device traffic.
FIXED_ROLES: Final[dict[str, tuple[Grant, ...]]] = {
    "hub": (
        *_read(ALL_DEVICES),
        Grant("subscribePattern", SHARED_ALL_DEVICES),
        *(Grant("publishClientSend", f"ss/v1/+/+/{ch.value}") for ch in HUB_TO_DEVICE),
        Grant("unsubscribePattern", "#"),
    ),
    "dashboard": (
        *_read("ss/v1/+/+/status"),
        Grant("unsubscribePattern", "#"),
    ),
    "operator": (
        Grant("publishClientSend", "ss/v1/+/+/cmd"),
        *_read("ss/v1/+/+/reply"),
        *_read("ss/v1/+/+/status"),
        Grant("unsubscribePattern", "#"),
    ),
    "admin": (
        Grant("publishClientSend", CONTROL),
        *_read(CONTROL),
        *_read("$SYS/#"),
        Grant("unsubscribePattern", "#"),
    ),
}

# Fixed account -> its role and whether it is bound to its user name as client id. The
# hub is not: it connects as hub_client_id, hub_client_id-sync and -w0.. (one per
# worker), and dynsec 2.0 binds an account to one exact id. Devices cannot take the
# hub's ids over, because every device account is bound to its own id.
FIXED_ACCOUNTS: Final[dict[str, tuple[str, bool]]] = {
    HUB_USER: ("hub", False),
    DASHBOARD_USER: ("dashboard", True),
    OPERATOR_USER: ("operator", True),
    ADMIN_USER: ("admin", True),
}


def reads_everything(grants: tuple[Grant, ...]) -> bool:
    """Whether a role may receive all of the district's device traffic."""
    return any(g.acltype == "publishClientReceive" and g.topic in ("#", "ss/#", ALL_DEVICES)
               for g in grants)
