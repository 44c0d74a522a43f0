"""The VI/EN switch of a page, kept in step with ``?lang=`` in its URL."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, ctx, no_update

from dashboard.i18n import Lang, coerce_lang, language_from_search


def register_language_sync(app: Dash, *, switch: str, location: str, default: Lang) -> None:
    """The switch writes ``?lang=`` so a screen's URL can pin its language, and a URL
    typed by hand sets the switch. One callback, so the two never ping-pong."""

    @app.callback(
        Output(switch, "value"),
        Output(location, "search"),
        Input(location, "search"),
        Input(switch, "value"),
    )
    def sync_language(search: str | None, value: str | None) -> tuple[Any, Any]:
        if ctx.triggered_id == switch:
            return no_update, f"?lang={coerce_lang(value, default)}"
        return language_from_search(search, default), no_update
