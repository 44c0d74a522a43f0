"""The frame around every page: a navigation bar and a URL-based page switch.

Each page keeps its own layout module; the switch renders the one the path names, if
the viewer may see it (dashboard.access): an anonymous visitor of a protected page is
sent to the login form (and back afterwards), a logged-in account that may not see the
page gets a "not allowed" notice and none of the page's parts, so none of its data
callbacks can run. The pages' callbacks check again on every refresh.

``suppress_callback_exceptions`` lets a page's callbacks wait while it is not shown,
and ``validation_layout`` still lets Dash check every id up front.
"""

from __future__ import annotations

from typing import Any, Final

from dash import Dash, Input, Output, State, dcc, html

from dashboard.access import (
    EQUIPMENT_PATH,
    LOGOUT_PATH,
    Access,
    Page,
    Viewer,
    login_href,
    may_view,
    page_of,
    school_href,
    sees_exchange,
    sees_school,
)
from dashboard.i18n import Lang, language_from_search, role_label, t
from dashboard.login import DashboardAuth
from dashboard.pages import (
    devices,
    district,
    equipment,
    exchange,
    fleet,
    kpi,
    lessons,
    school,
    warnings,
)

PAGES: Final = (("/", "nav_district"), (EQUIPMENT_PATH, "nav_equipment"),
                (kpi.PATH, "nav_kpi"), (fleet.PATH, "nav_fleet"),
                (warnings.PATH, "nav_warnings"))


def layout() -> html.Div:
    return html.Div(
        [
            dcc.Location(id="page", refresh=False),
            html.Nav(id="nav", className="nav"),
            html.Div(id="page-content"),
        ]
    )


def validation_layout(lang: Lang) -> html.Div:
    return html.Div([layout(), district.layout(lang, kiosk=True), equipment.layout(lang),
                     kpi.layout(), school.layout(lang, ""), devices.layout(lang, ""),
                     lessons.layout(lang, ""),
                     fleet.layout(lang), warnings.layout(), exchange.layout(),
                     login_required(lang, "/"),
                     not_allowed(lang, "school", None)])


def login_required(lang: Lang, next_path: str) -> html.Div:
    """Shown for a moment while the browser is sent to the login form."""
    href = login_href(next_path, lang)
    return html.Div(
        [
            dcc.Location(id="auth-redirect", href=href, refresh=True),
            html.H1(t(lang, "login_title")),
            html.P(t(lang, "login_required"), id="auth-required"),
            html.A(t(lang, "nav_login"), href=href, id="auth-login-link", className="sc-btn"),
        ],
        className="app auth-notice",
    )


def not_allowed(lang: Lang, page: Page, viewer: Viewer | None) -> html.Div:
    """A logged-in account on a page it may not see: say so, and where it may go."""
    text = t(lang, "not_allowed_school" if page == "school" else "not_allowed_page")
    children: list[Any] = [html.H1(t(lang, "not_allowed_title")),
                           html.P(text, id="auth-not-allowed")]
    if (viewer is not None and viewer.school_scoped and viewer.school_id is not None
            and sees_school(viewer, viewer.school_id)):
        children.append(dcc.Link(t(lang, "own_school_link"), id="auth-own-school",
                                 href=f"{school_href(viewer.school_id)}?lang={lang}",
                                 className="sc-btn"))
    return html.Div(children, className="app auth-notice auth-denied")


def user_box(lang: Lang, viewer: Viewer | None, here: str, csrf: str) -> html.Div:
    """Who is logged in and a sign-out button, or a sign-in link."""
    if viewer is None:
        return html.Div(html.A(t(lang, "nav_login"), href=login_href(here, lang),
                               id="nav-login", className="nav-link"),
                        className="nav-user")
    details = [viewer.username] if viewer.full_name else []
    details.append(role_label(lang, viewer.role))
    if viewer.school_id:
        details.append(viewer.school_id)
    return html.Div(
        [
            html.Span([html.Span(viewer.full_name or viewer.username, id="nav-user-name",
                                 className="nav-user-name"),
                       html.Span(f" ({' · '.join(details)})", className="nav-user-role")],
                      id="nav-user", title=viewer.username),
            # A form, not a link: signing out changes state, so it takes a POST with the
            # session's CSRF token and a page on another site cannot do it for you.
            html.Form(
                [
                    dcc.Input(type="hidden", name="csrf", value=csrf, id="nav-logout-csrf"),
                    dcc.Input(type="hidden", name="lang", value=lang, id="nav-logout-lang"),
                    html.Button(t(lang, "nav_logout"), type="submit", id="nav-logout",
                                className="nav-link nav-logout"),
                ],
                action=LOGOUT_PATH, method="post", className="nav-logout-form",
            ),
        ],
        className="nav-user",
    )


def register_callbacks(app: Dash, *, default_lang: Lang, auth: DashboardAuth) -> None:
    @app.callback(Output("page-content", "children"), Input("page", "pathname"),
                  State("page", "search"))
    def switch(pathname: str | None, search: str | None) -> html.Div:
        # State, not Input: the pages write ?lang= and must not be rebuilt for it.
        page, school_id = page_of(pathname)
        viewer = auth.frame_viewer()
        lang = language_from_search(search, default_lang)
        decision = may_view(viewer, page, school_id, public_district=auth.public_district)
        if decision is Access.LOGIN:
            return login_required(lang, (pathname or "/") + (search or ""))
        if decision is Access.DENY:
            return not_allowed(lang, page, viewer)
        # The page opens in the address's language: its switch starts there, else the
        # switch's first value (the default) would be written back over ?lang=.
        if page == "equipment":
            return equipment.layout(lang)
        if page == "kpi":
            return kpi.layout()
        if page == "school" and school_id is not None:
            return school.layout(lang, school_id)
        if page == "devices" and school_id is not None:
            return devices.layout(lang, school_id)
        if page == "lessons" and school_id is not None:
            return lessons.layout(lang, school_id)
        if page == "fleet":
            return fleet.layout(lang)
        if page == "warnings":
            return warnings.layout()
        if page == "exchange":
            return exchange.layout()
        return district.layout(lang, kiosk=district.kiosk_mode(search),
                               rotate_s=auth.settings.dashboard_kiosk_rotate_s)

    @app.callback(Output("nav", "children"), Input("page", "pathname"),
                  Input("page", "search"))
    def nav(pathname: str | None, search: str | None) -> list[Any]:
        lang = language_from_search(search, default_lang)
        if page_of(pathname)[0] == "district" and district.kiosk_mode(search):
            return []  # a kiosk wall screen: no navigation chrome
        here = (pathname or "/").rstrip("/") or "/"
        query = f"?lang={lang}"
        links: list[Any] = [
            dcc.Link(t(lang, key), href=path + query, id=f"nav-{key}",
                     className="nav-link active" if here == path else "nav-link")
            for path, key in PAGES
        ]
        if page_of(pathname)[0] == "school":  # reached from a district tile
            links.append(dcc.Link(t(lang, "nav_school"), href=here + query, id="nav-nav_school",
                                  className="nav-link active"))
        viewer = auth.frame_viewer()
        if sees_exchange(viewer):  # the push to the city (issue 15): district admins
            links.append(dcc.Link(t(lang, "nav_exchange"), href=exchange.PATH + query,
                                  id="nav-nav_exchange", className="nav-link active"
                                  if here == exchange.PATH else "nav-link"))
        # No token (and so no cookie) for anonymous wall screens: they have nothing to post.
        csrf = auth.csrf_token() if viewer is not None else ""
        links.append(user_box(lang, viewer, here + query, csrf))
        return links
