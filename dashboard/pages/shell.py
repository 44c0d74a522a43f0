"""The frame around every page: a navigation bar and a URL-based page switch.

Each page keeps its own layout module; the switch renders the one the path names.
``suppress_callback_exceptions`` lets a page's callbacks wait while it is not shown,
and ``validation_layout`` still lets Dash check every id up front.
"""

from __future__ import annotations

from typing import Final

from dash import Dash, Input, Output, dcc, html

from dashboard.i18n import Lang, language_from_search, t
from dashboard.pages import district, equipment, school

PAGES: Final = (("/", "nav_district"), (equipment.PATH, "nav_equipment"))


def layout() -> html.Div:
    return html.Div(
        [
            dcc.Location(id="page", refresh=False),
            html.Nav(id="nav", className="nav"),
            html.Div(id="page-content"),
        ]
    )


def validation_layout(lang: Lang) -> html.Div:
    return html.Div([layout(), district.layout(lang), equipment.layout(lang),
                     school.layout(lang, "")])


def register_callbacks(app: Dash, *, default_lang: Lang) -> None:
    @app.callback(Output("page-content", "children"), Input("page", "pathname"))
    def switch(pathname: str | None) -> html.Div:
        if (pathname or "/").rstrip("/") == equipment.PATH:
            return equipment.layout(default_lang)
        school_id = school.school_from_path(pathname)
        if school_id is not None:
            return school.layout(default_lang, school_id)
        return district.layout(default_lang)

    @app.callback(Output("nav", "children"), Input("page", "pathname"),
                  Input("page", "search"))
    def nav(pathname: str | None, search: str | None) -> list[dcc.Link]:
        lang = language_from_search(search, default_lang)
        here = (pathname or "/").rstrip("/") or "/"
        query = f"?lang={lang}"
        links = [
            dcc.Link(t(lang, key), href=path + query, id=f"nav-{key}",
                     className="nav-link active" if here == path else "nav-link")
            for path, key in PAGES
        ]
        if school.school_from_path(pathname) is not None:  # reached from a district tile
            links.append(dcc.Link(t(lang, "nav_school"), href=here + query, id="nav-nav_school",
                                  className="nav-link active"))
        return links
