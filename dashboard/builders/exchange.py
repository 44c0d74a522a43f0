"""The exchange page (issue 15), pure: a tile per delivery state, the receivers, and the
recent deliveries with their tries, last error and next try."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from dash import html
from dash.development.base_component import Component

from dashboard.data.exchange import DELIVERY_STATES, Delivery, DeliveryState, Endpoint
from dashboard.i18n import Lang, t

STATE_CLASS: Final[dict[str, str]] = {
    "queued": "xp-queued", "sent": "xp-sent", "failed": "xp-failed", "dead": "xp-dead"}


def moment(value: datetime | None, tz: ZoneInfo) -> str:
    return "—" if value is None else value.astimezone(tz).strftime("%d/%m/%Y %H:%M")


def period_label(d: Delivery) -> str:
    return f"{d.period:%m/%Y}" if d.kind == "kpi_snapshot" else f"{d.period:%d/%m/%Y}"


def totals(counts: dict[str, dict[DeliveryState, int]]) -> dict[DeliveryState, int]:
    """Deliveries by state over every receiver."""
    out: dict[DeliveryState, int] = dict.fromkeys(DELIVERY_STATES, 0)
    for per in counts.values():
        for state, n in per.items():
            out[state] += n
    return out


def build_tiles(counts: dict[str, dict[DeliveryState, int]], lang: Lang) -> html.Div:
    total = totals(counts)
    return html.Div(
        [html.Div([html.Div(str(total[s]), className="xp-tile-value"),
                   html.Div(t(lang, f"xp_state_{s}"), className="xp-tile-label")],
                  id=f"xp-tile-{s}", className=f"xp-tile {STATE_CLASS[s]}")
         for s in DELIVERY_STATES],
        className="xp-tiles")


def build_endpoints(endpoints: Sequence[Endpoint], counts: dict[str, dict[DeliveryState, int]],
                    lang: Lang, tz: ZoneInfo) -> Component:
    if not endpoints:
        return html.P(t(lang, "xp_no_endpoints"), id="xp-no-endpoints", className="xp-empty")
    head = html.Tr([html.Th(t(lang, k)) for k in ("xp_name", "xp_url", "xp_kinds")]
                   + [html.Th(t(lang, f"xp_state_{s}")) for s in DELIVERY_STATES]
                   + [html.Th(t(lang, "xp_created"))])
    rows = []
    for e in endpoints:
        per = counts.get(e.name, {})
        rows.append(html.Tr(
            [html.Td(e.name, className="xp-name"), html.Td(e.url, className="xp-url"),
             html.Td(", ".join(t(lang, f"xp_kind_{k}") for k in e.kinds))]
            + [html.Td(str(per.get(s, 0)), className=STATE_CLASS[s] if per.get(s) else "")
               for s in DELIVERY_STATES]
            + [html.Td(moment(e.created_at, tz))],
            id=f"xp-endpoint-{e.name}"))
    return html.Table([html.Thead(head), html.Tbody(rows)], className="xp-table",
                      id="xp-endpoints-table")


def build_deliveries(deliveries: Sequence[Delivery], lang: Lang, tz: ZoneInfo) -> Component:
    if not deliveries:
        return html.P(t(lang, "xp_no_deliveries"), id="xp-no-deliveries", className="xp-empty")
    head = html.Tr([html.Th(t(lang, k)) for k in (
        "xp_period", "xp_kind", "xp_endpoint", "xp_state", "xp_attempts", "xp_last_error",
        "xp_next_try", "xp_sent_at")])
    rows = [
        html.Tr([
            html.Td(period_label(d)),
            html.Td(t(lang, f"xp_kind_{d.kind}")),
            html.Td(d.endpoint or t(lang, "xp_removed")),
            html.Td(t(lang, f"xp_state_{d.state}"),
                    className=f"xp-state {STATE_CLASS[d.state]}"),
            html.Td(str(d.attempts)),
            html.Td(d.last_error or "", className="xp-error", title=d.last_error or ""),
            html.Td(moment(d.next_try, tz)),
            html.Td(moment(d.sent_at, tz)),
        ], id=f"xp-delivery-{d.id}")
        for d in deliveries
    ]
    return html.Table([html.Thead(head), html.Tbody(rows)], className="xp-table",
                      id="xp-deliveries-table")
