/* Kiosk wall screens (/?kiosk=1, issue #13): turn through their views, come back on their
   own after the dashboard (or the machine it runs on) restarts, and say so meanwhile.

   The turning: the views are #kiosk's .kiosk-view children, in the server's order
   (KIOSK_VIEWS: district, targets, equipment), each shown for #kiosk's data-rotate-ms
   (SMARTSCHOOL_DASHBOARD_KIOSK_ROTATE_S). It runs here, not as a callback: a round trip
   per turn would skip a view whenever the server answers late, and the screen keeps
   turning while the server is away. A new #kiosk (the page drawn again) starts afresh.

   A wall screen runs for weeks with nobody at its keyboard. When the dashboard goes away,
   Dash's callbacks fail silently and the page keeps the last figures as if they were live.
   So: a callback that cannot reach the server (or a proxy's 502/503/504 for it), or a
   failed look at the page itself, shows the reconnecting banner; the page is then probed
   every PROBE_MS, and after NEED_OK answers in a row it is reloaded, which brings a fresh
   layout, fresh callbacks and a rotation from the start. A callback that fails inside
   a working server (an ordinary 500) is not a lost connection and reloads nothing.

   What each view shows, and to whom, is the server's: dashboard/pages/district.py. */
(function () {
  "use strict";

  if (!/(^|[?&])kiosk=(1|true|yes|on)(&|$)/i.test(window.location.search)) {
    return;
  }

  var PROBE_MS = 2000; // while the server is away
  var WATCH_MS = 10000; // while all is well: a look now and then catches a quiet outage
  var NEED_OK = 2; // answers in a row before reloading: a server still starting fails one
  var FALLBACK_TEXT = "Đang kết nối lại… / Reconnecting…";
  var state = { down: false, oks: 0, timer: null, reloading: false };

  function banner() {
    var el = document.getElementById("kiosk-reconnect");
    if (el) {
      return el;
    }
    // The page never rendered (the server went away before it could): say it in both.
    el = document.getElementById("kiosk-reconnect-fallback");
    if (!el) {
      el = document.createElement("div");
      el.id = "kiosk-reconnect-fallback";
      el.className = "kiosk-reconnect";
      el.setAttribute("role", "alert");
      el.textContent = FALLBACK_TEXT;
      document.body.appendChild(el);
    }
    return el;
  }

  function show(on) {
    var el = banner();
    if (!el.textContent) {
      el.textContent = FALLBACK_TEXT;
    }
    el.classList.toggle("shown", on);
    document.documentElement.classList.toggle("kiosk-offline", on);
  }

  function schedule(ms) {
    window.clearTimeout(state.timer);
    state.timer = window.setTimeout(probe, ms);
  }

  function lost() {
    state.oks = 0;
    if (!state.down) {
      state.down = true;
      show(true);
      schedule(PROBE_MS);
    }
  }

  function answered() {
    if (!state.down) {
      schedule(WATCH_MS);
      return;
    }
    state.oks += 1;
    if (state.oks >= NEED_OK && !state.reloading) {
      state.reloading = true;
      window.location.reload();
      return;
    }
    schedule(PROBE_MS);
  }

  function failed() {
    lost();
    schedule(PROBE_MS);
  }

  function probe() {
    var url = window.location.pathname + window.location.search;
    var ask = window.__kioskFetch || window.fetch;
    ask.call(window, url, { method: "HEAD", cache: "no-store", credentials: "same-origin" })
      .then(function (answer) {
        if (answer.ok) {
          answered();
        } else {
          failed();
        }
      }, failed);
  }

  // Dash sends its callbacks through fetch: watch them for a server that is gone.
  var original = window.fetch;
  window.__kioskFetch = original;
  window.fetch = function (resource) {
    var url = typeof resource === "string" ? resource : (resource && resource.url) || "";
    var answer = original.apply(this, arguments);
    if (url.indexOf("_dash-update-component") !== -1) {
      answer.then(function (r) {
        if (r.status === 502 || r.status === 503 || r.status === 504) {
          lost();
        }
      }, lost);
    }
    return answer;
  };

  // A wall screen started by hand: the first touch makes it full screen (browsers allow
  // that only after a gesture; `chromium --kiosk` starts full screen anyway).
  document.addEventListener("click", function () {
    var root = document.documentElement;
    if (!document.fullscreenElement && root.requestFullscreen) {
      root.requestFullscreen().catch(function () {});
    }
  }, { once: true });

  var turning = { root: null, timer: null };

  function showView(root, index) {
    var views = root.querySelectorAll(":scope > .kiosk-view");
    var tabs = root.querySelectorAll(".kiosk-tab");
    for (var k = 0; k < views.length; k += 1) {
      views[k].classList.toggle("active", k === index);
    }
    for (var j = 0; j < tabs.length; j += 1) {
      tabs[j].classList.toggle("active", j === index);
    }
  }

  function rotate() {
    var root = document.getElementById("kiosk");
    if (root === turning.root) {
      return;
    }
    window.clearInterval(turning.timer);
    turning.root = root;
    if (!root) {
      return;
    }
    var ms = parseInt(root.getAttribute("data-rotate-ms"), 10);
    if (!(ms >= 1000)) {
      ms = 20000;
    }
    var at = 0;
    showView(root, at);
    turning.timer = window.setInterval(function () {
      var count = root.querySelectorAll(":scope > .kiosk-view").length;
      if (count) {
        at = (at + 1) % count;
        showView(root, at);
      }
    }, ms);
  }

  // Dash draws the page after this script has run: wait for #kiosk to appear.
  new MutationObserver(rotate).observe(document.documentElement,
    { childList: true, subtree: true });
  rotate();

  window.addEventListener("offline", lost);
  schedule(WATCH_MS);
})();
