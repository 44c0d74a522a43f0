"""Process settings from the environment (prefix ``SMARTSCHOOL_``) or a ``.env`` file.

Secrets live here, never in device YAML. Every field is documented in the README
("Settings"); `smartschool settings` prints the effective values.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SMARTSCHOOL_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL (postgresql://user:pass@host:5432/db). Unset: the demo "
        "starts an embedded PostgreSQL; other commands refuse to guess.",
    )
    mqtt_url: str | None = Field(
        default=None,
        description="Broker URL, mqtt://host:1883 or mqtts://host:8883. Unset: the demo "
        "starts Mosquitto (if on PATH) or amqtt on a free port.",
    )
    mqtt_username: str | None = Field(default=None, description="Broker user name")
    mqtt_password: SecretStr | None = Field(default=None, description="Broker password")
    hub_client_id: str = Field(
        default="smartschool-hub", description="MQTT client id of the hub (persistent session)"
    )
    admin_password: SecretStr | None = Field(
        default=None,
        description="Password of the built-in `admin` account. Unset: generated on first "
        "start and printed once.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key signing API tokens. Unset: generated once and kept in the data dir.",
    )
    token_ttl_minutes: int = Field(default=12 * 60, ge=1, le=7 * 24 * 60,
                                   description="Lifetime of an API token")
    api_host: str = Field(default="127.0.0.1", description="Address the API listens on")
    api_port: int = Field(default=8000, ge=0, le=65535, description="Port of the API")
    dashboard_host: str = Field(default="127.0.0.1", description="Address of the dashboard")
    dashboard_port: int = Field(default=8050, ge=0, le=65535, description="Dashboard port")
    data_dir: Path = Field(
        default=Path(user_data_dir("smartschool")),
        description="Where the embedded database, generated secrets and outboxes live",
    )
    timezone: str = Field(default="Asia/Ho_Chi_Minh", description="The district's time zone")
    language: Literal["vi", "en"] = Field(default="vi", description="Dashboard default language")
    offline_after_gate_s: int = Field(
        default=120, ge=5, description="A gate silent this long is shown offline"
    )
    offline_after_classroom_s: int = Field(
        default=600, ge=5, description="A classroom device silent this long is shown offline"
    )
    event_retention_days: int = Field(
        default=400, ge=1, description="Raw gate events older than this are purged by the "
        "hub every hour (and by `smartschool records purge`); the attendance rollup is kept"
    )
    log_level: str = Field(default="INFO", description="Python logging level")
    # --- broker provisioning (issue #11): `smartschool broker init` writes these into
    # DIR/smartschool.env; with them, `smartschool devices add/rotate/decommission`
    # manage device accounts on the broker's dynamic security plugin.
    broker_admin_url: str | None = Field(
        default=None, description="Broker URL of the account administration (mqtt:// or "
        "mqtts://); unset: `devices` commands only touch the registry")
    broker_admin_username: str | None = Field(
        default=None, description="Broker account allowed to administer accounts")
    broker_admin_password: SecretStr | None = Field(
        default=None, description="Password of the broker admin account")
    broker_ca_file: Path | None = Field(
        default=None, description="The district CA certificate: trusted for mqtts:// to the "
        "broker and copied into device bundles")
    broker_device_url: str | None = Field(
        default=None, description="Broker URL devices use, written into bundles' YAML "
        "(e.g. mqtts://broker.example.vn:8883)")
    device_hub_url: str | None = Field(
        default=None, description="The hub's API as gates reach it (https://...), written "
        "into gate bundles' sync.hub_url; unset: bundles have no sync section")

    # People leave, retention and the smaller items (issue #12). The retention defaults
    # are hub.records.retention's (core imports nothing of ours, so they are repeated).
    notification_retention_days: int = Field(
        default=90, ge=1, description="Parents' notifications (phone or address and the "
        "message text) older than this are purged by the hub every hour")
    dead_letter_retention_days: int = Field(
        default=30, ge=1, description="Dead letters (raw refused payloads) older than this "
        "are purged by the hub every hour")
    device_reply_retention_days: int = Field(
        default=30, ge=1, description="Device replies older than this are purged by the hub "
        "every hour (the answer to each gate's latest sync push is kept)")
    leaver_retention_days: int = Field(
        default=365, ge=1, description="A pupil who left this many days ago loses their "
        "national ids and their guardians' contacts; name, code and registers stay")
    dashboard_secure_cookie: bool = Field(
        default=False, description="Mark the dashboard's session cookie Secure (sent over "
        "HTTPS only): set it when the dashboard is served behind TLS")
    trusted_proxies: list[str] = Field(
        default_factory=list, description="Addresses or networks (JSON list, e.g. "
        '["127.0.0.1", "10.0.0.0/8"]) of reverse proxies whose X-Forwarded-For names the '
        "client for login throttling; from anyone else the header is ignored")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        # Refused at start, naming the entry, rather than at the first login behind it.
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an address or network "
                                 "(e.g. 10.0.0.0/8)") from None
        return value

    # Public surfaces show no person (issue #12): the district wall and its kiosk.
    dashboard_public_wall: bool = Field(
        default=False, description="Show the district wall (/) without signing in: "
        "counts, rates and device states only, never a name, class or card. The demo "
        "turns it on; off, / asks for a district-wide account or the kiosk")
    dashboard_kiosk_token: SecretStr | None = Field(
        default=None, description="Password of the read-only `kiosk` dashboard sign-in "
        "for wall screens that show the live gate feed (class and decision, no name); "
        "unset: no kiosk sign-in. At least 20 characters")
    dashboard_kiosk_rotate_s: int = Field(
        default=20, ge=1, le=3600, description="Seconds each view stays on a kiosk wall "
        "screen (/?kiosk=1) before the next: district, targets, equipment (issue #13)")
    dashboard_wall_names: bool = Field(
        default=False, description="Show masked names (family name, initials, given "
        "name) in the wall's gate feed to the kiosk and signed-in district accounts")
    # Transport and device tokens (issue #11: device identity end to end)
    mqtt_ca_file: Path | None = Field(
        default=None, description="CA certificate (PEM) an mqtts:// broker is verified "
        "against, e.g. the district CA. Unset: the system trust store")
    mqtt_cert_file: Path | None = Field(
        default=None, description="Client certificate (PEM) presented to an mqtts:// broker")
    mqtt_key_file: Path | None = Field(
        default=None, description="Private key (PEM) of mqtt_cert_file")
    mqtt_allow_plaintext: bool = Field(
        default=False, description="Allow mqtt:// (no TLS) to a broker that is not on "
        "loopback. Off: the hub refuses to start, since passwords and card UIDs would "
        "cross the network in clear")
    device_token_days: int = Field(
        default=365, ge=1, le=3650, description="Lifetime of a device sync token "
        "(`smartschool devices token` issues a new one)")
    # Warnings and forecasts (issue 15)
    warnings_at: dt.time = Field(
        default=dt.time(2, 0), description="Local time (HH:MM, SMARTSCHOOL_TIMEZONE) of the "
        "hub's nightly warnings run; a run missed while the hub was down is made up at start")

    # Observability (issue #16): log lines as JSON, and an optional token for /metrics.
    log_format: Literal["text", "json"] = Field(
        default="text", description="Log lines as text (dated) or one JSON object per line "
        "(ts, level, logger, message, exc) for a log shipper")
    metrics_token: SecretStr | None = Field(
        default=None, description="Bearer token Prometheus must send to read /metrics. "
        "Unset: /metrics is open (it reveals counts only: no hosts, devices or persons)")
    edge_metrics_file: Path | None = Field(
        default=None, description="`smartschool edge run` rewrites this file every 15 s "
        "for node_exporter's textfile collector (outbox backlog, last PUBACK age), e.g. "
        "/var/lib/smartschool/metrics/<device>.prom; unset: no file")

    # Single sign-on (issue 15): the sector's OpenID provider signs people in to the
    # dashboard (code flow with PKCE) and the API accepts its JWT access tokens. The
    # claims are mapped to a hub role and school (hub/accounts/oidc_rules.py).
    oidc_issuer: str | None = Field(
        default=None, description="Issuer URL of the sector's OpenID provider (its "
        "/.well-known/openid-configuration is read). Unset: local accounts only")
    oidc_client_id: str | None = Field(
        default=None, description="The dashboard's client id at the provider")
    oidc_client_secret_file: Path | None = Field(
        default=None, description="File holding the dashboard's client secret")
    oidc_audience: str | None = Field(
        default=None, description="Audience the API requires in the provider's access "
        "tokens (its resource identifier). Unset: the API accepts no provider token")
    oidc_scopes: str = Field(
        default="openid profile email", description="Scopes the dashboard asks for (the "
        "provider must put the role and school claims in the id token)")
    oidc_role_claim: str = Field(
        default="roles", description="Claim holding the person's role(s) at the provider; "
        "a dotted path reaches into an object (realm_access.roles)")
    oidc_school_claim: str = Field(
        default="school", description="Claim holding the school code of school staff")
    oidc_role_map: dict[str, str] = Field(
        default_factory=dict, description="JSON object: the provider's role value -> hub "
        'role, e.g. {"hieu_truong": "school_admin", "giao_vien": "teacher"}; a person '
        "with no mapped role is refused")
    oidc_algorithms: list[str] = Field(
        default_factory=lambda: ["RS256", "ES256"], description="Signature algorithms "
        "accepted from the provider (asymmetric only: none and HS* are refused)")
    oidc_redirect_uri: str | None = Field(
        default=None, description="The dashboard's callback as the provider knows it "
        "(https://.../login/sso/callback). Unset: built from the request")

    @field_validator("oidc_algorithms")
    @classmethod
    def _asymmetric(cls, value: list[str]) -> list[str]:
        # A shared-secret or unsigned token would be forgeable by anyone holding the
        # provider's public keys or by no one at all: refused at start.
        allowed = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                   "ES256", "ES384", "ES512", "EdDSA"}
        if not value or any(alg not in allowed for alg in value):
            raise ValueError(f"algorithms must be among {', '.join(sorted(allowed))}")
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
