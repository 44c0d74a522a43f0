"""What the exchange page reads: the push's endpoints and recent deliveries, through the
same functions /api/v1/exchange answers with (hub.exchange.push), so the two agree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from hub.db import Conn
from hub.exchange.push import (
    DELIVERY_STATES,
    Delivery,
    DeliveryState,
    Endpoint,
    list_deliveries,
    list_endpoints,
    state_counts,
)

RECENT: Final = 50

__all__ = ["DELIVERY_STATES", "Delivery", "DeliveryState", "Endpoint", "ExchangeView",
           "load_exchange"]


@dataclass(frozen=True, slots=True)
class ExchangeView:
    endpoints: list[Endpoint]
    counts: dict[str, dict[DeliveryState, int]]  # per endpoint name
    deliveries: list[Delivery]  # newest first


def load_exchange(conn: Conn, *, recent: int = RECENT) -> ExchangeView:
    return ExchangeView(list_endpoints(conn), state_counts(conn),
                        list_deliveries(conn, limit=recent))
