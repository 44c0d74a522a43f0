"""Helpers for driving the browser in end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo


def wait_for(predicate, timeout: float = 15.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as exc:  # the page may be mid-render: try again
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def page_text(driver) -> str:
    # textContent, not .text: CSS upper-cases headings and labels, and the check is
    # about the strings the page carries, not their rendering.
    return str(driver.execute_script("return document.body.textContent"))


def screenshot(driver, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    driver.save_screenshot(str(path))
    keep = os.environ.get("SMARTSCHOOL_E2E_ARTIFACTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / name)
    return path


# Live pages re-render their blocks every few seconds, so an element found in one
# WebDriver call can be gone by the next: read and click in one script call instead.

def text_of(driver, css: str) -> str:
    """The rendered text of the first element matching ``css`` ('' when absent)."""
    return str(driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';", css))


def class_of(driver, css: str) -> str:
    """The class attribute of the first element matching ``css`` ('' when absent)."""
    return str(driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.className : '';", css))


def click(driver, css: str, what: str = "element") -> None:
    """Click the first element matching ``css``, retrying while the page re-renders."""
    wait_for(lambda: driver.execute_script(
        "const e = document.querySelector(arguments[0]); if (!e) return false;"
        " e.click(); return true;", css), what=what)


def click_until(driver, xpath: str, done, what: str, attempts: int = 4,
                settle: float = 5.0) -> None:
    """Click the element at ``xpath`` until ``done()`` holds.

    A click that lands while its block re-renders can be lost (the button it hit is
    gone before its callback fires); the effect, not the click, is what counts. Each
    try waits ``settle`` seconds for the effect before clicking again.
    """
    for _ in range(attempts):
        # stale or not rendered yet: the next try finds it
        with contextlib.suppress(Exception):
            driver.find_element("xpath", xpath).click()
        try:
            wait_for(done, timeout=settle, what=what)
            return
        except AssertionError:
            continue
    raise AssertionError(f"{what}: not done after {attempts} clicks; the page shows "
                         f"{str(driver.execute_script('return document.body.innerText'))[:1500]!r}")


_WATCH_CALLBACKS = """
window.__dash = {started: 0, done: 0, last: 0};
// callbacks go out through fetch, or its polyfill over XMLHttpRequest: count both
const open0 = XMLHttpRequest.prototype.open;
const send0 = XMLHttpRequest.prototype.send;
XMLHttpRequest.prototype.open = function (method, url) {
    this.__dashCallback = String(url).includes('_dash-update-component');
    return open0.apply(this, arguments);
};
XMLHttpRequest.prototype.send = function () {
    if (this.__dashCallback) {
        window.__dash.started += 1;
        window.__dash.last = performance.now();
        this.addEventListener('loadend', () => {
            window.__dash.done += 1;
            window.__dash.last = performance.now();
        });
    }
    return send0.apply(this, arguments);
};
const fetch0 = window.fetch;
window.fetch = function (url) {
    const answer = fetch0.apply(this, arguments);
    if (String(url).includes('_dash-update-component')) {
        window.__dash.started += 1;
        window.__dash.last = performance.now();
        const done = () => { window.__dash.done += 1; window.__dash.last = performance.now(); };
        answer.then(done, done);
    }
    return answer;
};
"""


def watch_callbacks(driver) -> None:
    """Count Dash callback round trips on every page loaded from now on (the counter is
    in place before the page's own scripts run, so none is missed)."""
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                           {"source": _WATCH_CALLBACKS})


def callbacks_settled(driver, quiet_ms: float = 500.0) -> bool:
    """The page made callback round trips, none is in flight, and none started or ended
    for ``quiet_ms``: what it was going to render, it has rendered."""
    return bool(driver.execute_script(
        "const d = window.__dash; return !!d && d.started > 0 && d.done === d.started"
        " && performance.now() - d.last > arguments[0];", quiet_ms))


def ten_oclock_zone() -> ZoneInfo:
    """The whole-hour UTC offset whose wall clock reads ten o'clock now.

    The dashboard reads the server's clock in the configured zone; in this zone it is
    always mid-morning, whenever the test runs (in Vietnam time a page seeded for
    the morning failed before its cutoffs had passed)."""
    offset = (10 - datetime.now(UTC).hour + 12) % 24 - 12  # hours east of UTC, -12..11
    return ZoneInfo(f"Etc/GMT{-offset:+d}")  # the Etc/ names count west of UTC
