"""What the routes share for the life of one app: settings, the pool, the signing key."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from prometheus_client.registry import CollectorRegistry
from psycopg_pool import ConnectionPool

from core.settings import Settings
from hub.accounts.auth import LoginRateLimiter
from hub.accounts.oidc import ProviderTokens
from hub.db import Conn
from hub.devices.sender import CommandSender
from hub.metrics import IngestView


@dataclass(frozen=True, slots=True)
class ApiContext:
    settings: Settings
    pool: ConnectionPool[Conn]
    secret: str
    tz: ZoneInfo
    database_display: str  # the database URL with its password redacted
    mqtt_display: str
    login_limiter: LoginRateLimiter = field(default_factory=LoginRateLimiter)
    # Commands to devices (issue #13): the hub process's one command client; None in an
    # app without a broker, where a command is recorded as failed.
    commands: CommandSender | None = None
    # Observability (issue #16): the in-process ingest worker (None when ingest runs
    # elsewhere) and the registry /metrics serves.
    ingest: IngestView | None = None
    metrics: CollectorRegistry | None = None
    # Single sign-on (issue 15): the provider's access tokens, when SMARTSCHOOL_OIDC_ISSUER
    # and _AUDIENCE are set (built from the settings; a bad setting fails the start).
    oidc: ProviderTokens | None = None

    def __post_init__(self) -> None:
        if self.oidc is None:
            object.__setattr__(self, "oidc", ProviderTokens.from_settings(self.settings))

    @property
    def token_ttl(self) -> timedelta:
        return timedelta(minutes=self.settings.token_ttl_minutes)
