"""Broker addresses and paho client construction shared by edge agents and the hub.

paho 2.x with the VERSION2 callback API. MQTT 5 is preferred; brokers that only
speak 3.1.1 (the embedded amqtt fallback) are detected once per address and the
client falls back, since everything the protocol needs works on both.

Transport (issue #11): an ``mqtts://`` broker is verified against a CA file when one
is given (the district's own CA), else the system trust store; a client certificate
and key can be presented too. ``transport_problem`` is the one rule for plain
``mqtt://``: refused to anything but loopback unless explicitly allowed.
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 5.0

# The CONNACK reason that alone means "this broker speaks 3.1.1 only". paho reports a
# 3.1.1 broker's "unacceptable protocol version" (return code 1) under this code too.
UNSUPPORTED_PROTOCOL_VERSION = 132


class BrokerRefused(RuntimeError):
    """The broker answered, and refused: bad credentials, not authorised, a TLS
    certificate that does not verify. A configuration error to report, never a reason
    to fall back to another protocol version."""


class TransportRefused(ValueError):
    """A transport this client may not use: plain MQTT to another machine without an
    explicit allowance, TLS files on a plain URL (``transport_problem``)."""


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """PEM files for an ``mqtts://`` connection. None: the system trust store, no client
    certificate."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    def __bool__(self) -> bool:
        return any((self.ca_file, self.cert_file, self.key_file))


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool = False
    files: TlsFiles = TlsFiles()

    @classmethod
    def parse(cls, url: str, files: TlsFiles | None = None) -> BrokerAddress:
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"broker URL {url!r}: scheme must be mqtt:// or mqtts://")
        tls = parts.scheme in ("mqtts", "ssl")
        if not parts.hostname:
            raise ValueError(f"broker URL {url!r} has no host")
        return cls(parts.hostname, parts.port or (8883 if tls else 1883), tls,
                   files or TlsFiles())

    @property
    def loopback(self) -> bool:
        """The broker is on this machine: plain MQTT never leaves it."""
        if self.host.lower() in ("localhost", "localhost.localdomain"):
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def transport_problem(address: BrokerAddress, *, allow_plaintext: bool = False,
                      how_to_allow: str = "allow plaintext explicitly") -> str | None:
    """Why this transport is refused, or None. Plain MQTT carries device passwords,
    card UIDs and person codes in clear, so it is for loopback only unless the operator
    says otherwise explicitly; TLS files on a plain URL are a mistake, not a no-op."""
    if not address.tls:
        if address.files:
            return (f"CA/certificate/key files are given but {address} is plain MQTT: "
                    "use mqtts://")
        if not address.loopback and not allow_plaintext:
            return (f"{address} is plain MQTT to another machine: passwords and card UIDs "
                    "would cross the network in clear. Use mqtts:// (with the district CA "
                    f"file), or {how_to_allow}")
    if address.files.key_file and not address.files.cert_file:
        return "a client key is given without its client certificate"
    return None


def configure_tls(client: mqtt.Client, address: BrokerAddress) -> None:
    """Verify the broker (the given CA, else the system store) and present the client
    certificate if any. Nothing for a plain address."""
    if address.tls:
        client.tls_set(ca_certs=address.files.ca_file, certfile=address.files.cert_file,
                       keyfile=address.files.key_file, cert_reqs=ssl.CERT_REQUIRED)


# Versions found per address; a refusal is raised, never remembered.
_versions: dict[BrokerAddress, MQTTProtocolVersion] = {}
_versions_lock = threading.Lock()


def negotiate_protocol(address: BrokerAddress, *, client_id: str = "",
                       username: str | None = None,
                       password: str | None = None) -> MQTTProtocolVersion:
    """MQTT 5 if the broker accepts it, 3.1.1 only if it answers "unsupported protocol
    version". Remembered per address: the version is the broker's, not the account's.

    The probe connects as the real client will (credentials, TLS), since a broker with
    ``allow_anonymous false`` refuses an anonymous probe. A refusal (bad credentials,
    not authorised, a certificate that does not verify) raises ``BrokerRefused``. An
    unreachable or silent broker is assumed to speak 5 and not remembered: the real
    client's reconnects find out.
    """
    with _versions_lock:
        known = _versions.get(address)
    if known is not None:
        return known
    answer: dict[str, ReasonCode] = {}
    done = threading.Event()

    def on_connect(_c: mqtt.Client, _u: object, _f: object, rc: ReasonCode,
                   _p: object) -> None:
        answer["rc"] = rc
        done.set()

    def on_disconnect(*_args: object) -> None:
        done.set()

    # A broker that binds each device account to its client id refuses the probe under
    # any other, so a device probes with its own (a clean, non-persistent session, as
    # its real one). The hub's persistent session must not be touched by a probe: it
    # probes with an empty id (the broker assigns one), see make_client.
    probe = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                        protocol=MQTTProtocolVersion.MQTTv5)
    if username:
        probe.username_pw_set(username, password)
    configure_tls(probe, address)
    probe.on_connect = on_connect
    probe.on_disconnect = on_disconnect
    try:
        probe.connect(address.host, address.port, keepalive=10)
        probe.loop_start()
        done.wait(PROBE_TIMEOUT_S)
    except ssl.SSLError as exc:
        raise BrokerRefused(f"TLS with {address} failed: {exc}") from exc
    except OSError:
        # Unreachable now; assume MQTT 5 and let the real client's reconnects sort it out.
        return MQTTProtocolVersion.MQTTv5
    finally:
        probe.disconnect()
        probe.loop_stop()
    rc = answer.get("rc")
    if rc is None:
        log.warning("broker %s did not answer the protocol probe; assuming MQTT 5", address)
        return MQTTProtocolVersion.MQTTv5
    if not rc.is_failure:
        version = MQTTProtocolVersion.MQTTv5
    elif rc.value == UNSUPPORTED_PROTOCOL_VERSION:
        version = MQTTProtocolVersion.MQTTv311
    else:
        raise BrokerRefused(f"broker {address} refused {username or 'an anonymous client'}"
                            f": {rc}")
    with _versions_lock:
        _versions[address] = version
    log.info("broker %s speaks %s", address, version.name)
    return version


def make_client(
    address: BrokerAddress,
    client_id: str,
    *,
    username: str | None = None,
    password: str | None = None,
    persistent: bool = False,
    protocol: MQTTProtocolVersion | None = None,
    manual_ack: bool = False,
    client_class: type[mqtt.Client] = mqtt.Client,
) -> mqtt.Client:
    """A configured, not yet connected client.

    ``persistent`` asks for a broker session that outlives the connection
    (clean_session false on 3.1.1; on 5 pass clean_start/session expiry to connect).
    ``client_class`` is paho's ``Client`` or a subclass (the hub's consumer client).
    """
    version = protocol
    if version is None:
        try:
            version = negotiate_protocol(address, client_id="" if persistent else client_id,
                                         username=username, password=password)
        except BrokerRefused as exc:
            # A gate must keep deciding at the door and queueing in its outbox while its
            # password or CA is being put right, so building its client does not fail:
            # the refusal is reported, and it is never read as "3.1.1". Whoever must fail
            # fast (the hub) calls negotiate_protocol first.
            log.error("%s; connecting anyway with MQTT 5, retrying with backoff", exc)
            version = MQTTProtocolVersion.MQTTv5
    if version == MQTTProtocolVersion.MQTTv5:
        client = client_class(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=version,
            manual_ack=manual_ack,
        )
    else:
        client = client_class(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=version,
            clean_session=not persistent,
            manual_ack=manual_ack,
        )
    if username:
        client.username_pw_set(username, password)
    configure_tls(client, address)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    return client


def is_v5(client: mqtt.Client) -> bool:
    return client.protocol == MQTTProtocolVersion.MQTTv5
