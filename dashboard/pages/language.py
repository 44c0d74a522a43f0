"""The VI/EN switch of a page, kept in step with ``?lang=`` in its URL."""

from __future__ import annotations

from typing import Any

from dash import ALL, Dash, Input, Output, ctx, no_update

from dashboard.i18n import Lang, coerce_lang, language_from_search


def switch_id(page: str) -> dict[str, str]:
    """The id of a page's VI/EN switch when that page lives inside the shell."""
    return {"type": "lang-switch", "page": page}


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


def register_shell_language_sync(app: Dash, *, location: str, default: Lang) -> None:
    """The same for pages inside the shell, whose switches write the shell's own location
    so the nav bar follows the language too.

    The switches are matched by pattern (``switch_id``): a callback that named one page's
    switch beside the shell's location would have an input missing on every other page,
    and Dash then fails that page's callbacks in the browser."""
    switches = {"type": "lang-switch", "page": ALL}

    @app.callback(
        Output(switches, "value"),
        Output(location, "search"),
        Input(location, "search"),
        Input(switches, "value"),
    )
    def sync_shell_language(search: str | None, values: list[str | None]) -> tuple[Any, Any]:
        if not values:
            return [], no_update
        if isinstance(ctx.triggered_id, dict):
            return [no_update] * len(values), f"?lang={coerce_lang(values[0], default)}"
        return [language_from_search(search, default)] * len(values), no_update
