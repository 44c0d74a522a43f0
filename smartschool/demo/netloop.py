"""One network thread for many paho clients: what lets a district run in one process.

paho's own ``loop_start`` gives each client a thread that waits in
``select.select``, which cannot watch a descriptor numbered 1024 or more. A
simulated district holds about two thousand descriptors (a socket and three
SQLite files per agent), so those threads fail to connect at all. This loop
watches every client's socket through ``selectors`` (epoll on Linux) from one
thread, using paho's external-loop hooks (``on_socket_open`` and friends).

Reconnects happen on this thread with backoff; a TCP connect blocks it for up
to ``CONNECT_TIMEOUT_S``, harmless on the loopback or LAN broker of a
simulation. A Pi runs one agent and keeps paho's own thread.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

log = logging.getLogger(__name__)

MISC_INTERVAL_S = 1.0  # keepalive bookkeeping (paho's loop_misc) for every client
RETRY_MIN_S = 1.0
RETRY_MAX_S = 30.0
CONNECT_TIMEOUT_S = 2.0


class NetLoop:
    """``edge.link.SharedLoop`` on one selector thread."""

    connect_timeout_s = CONNECT_TIMEOUT_S

    def __init__(self, name: str = "mqtt-netloop") -> None:
        self._name = name
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._calls: deque[Callable[[], None]] = deque()
        self._clients: set[mqtt.Client] = set()
        self._retiring: set[mqtt.Client] = set()
        self._retry: list[tuple[float, int, mqtt.Client]] = []
        self._retry_due: set[mqtt.Client] = set()
        self._delay: dict[mqtt.Client, float] = {}
        self._order = itertools.count()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- owner side ----------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout)
        self._sel.close()
        self._wake_r.close()
        self._wake_w.close()

    def add(self, client: mqtt.Client) -> None:
        """Take over a client on which ``connect_async`` was called; connects it.

        Set ``client.connect_timeout = CONNECT_TIMEOUT_S`` before ``connect_async``
        (paho refuses it afterwards): a slow connect blocks every client on the loop.
        """
        client.on_socket_open = self._on_open
        client.on_socket_close = self._on_close
        client.on_socket_register_write = self._on_want_write
        client.on_socket_unregister_write = self._on_written
        self._call(lambda: self._adopt(client))

    def retire(self, client: mqtt.Client) -> None:
        """Never reconnect this client; forget it once its socket is closed."""
        self._call(lambda: self._retiring.add(client))

    def abort(self, client: mqtt.Client) -> None:
        """Drop the connection without DISCONNECT (the broker fires the will); no reconnect."""
        done = threading.Event()

        def _abort() -> None:
            self._retiring.add(client)
            self._drop_socket(client)
            done.set()

        self._call(_abort)
        done.wait(5.0)

    @property
    def clients(self) -> int:
        return len(self._clients)

    # -- paho socket hooks (any thread) --------------------------------------------------

    def _on_open(self, client: mqtt.Client, _ud: Any, sock: Any) -> None:
        self._call(lambda: self._set(sock, selectors.EVENT_READ, client))

    def _on_close(self, _client: mqtt.Client, _ud: Any, sock: Any) -> None:
        self._call(lambda: self._unset(sock))

    def _on_want_write(self, client: mqtt.Client, _ud: Any, sock: Any) -> None:
        self._call(lambda: self._set(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, client))

    def _on_written(self, client: mqtt.Client, _ud: Any, sock: Any) -> None:
        self._call(lambda: self._set(sock, selectors.EVENT_READ, client))

    # -- loop thread ---------------------------------------------------------------------

    def _call(self, fn: Callable[[], None]) -> None:
        if threading.current_thread() is self._thread:
            fn()
        else:
            self._calls.append(fn)
            self._wake()

    def _wake(self) -> None:
        # A full pipe means it is awake already; a closed one that it is shutting down.
        with suppress(OSError):
            self._wake_w.send(b"x")

    def _set(self, sock: socket.socket, events: int, client: mqtt.Client) -> None:
        current: object = client.socket()
        if sock.fileno() < 0 or current is not sock:
            return  # closed meanwhile: the close hook unregisters it
        try:
            self._sel.modify(sock, events, client)
        except KeyError:
            self._sel.register(sock, events, client)

    def _unset(self, sock: Any) -> None:
        with suppress(KeyError, ValueError):
            self._sel.unregister(sock)

    def _adopt(self, client: mqtt.Client) -> None:
        self._clients.add(client)
        self._connect(client)

    def _connect(self, client: mqtt.Client) -> None:
        self._retry_due.discard(client)
        if client in self._retiring or client not in self._clients:
            return
        try:
            client.reconnect()
        except Exception as exc:  # refused, unreachable, TLS errors: all mean retry later
            delay = self._delay.get(client, RETRY_MIN_S)
            self._delay[client] = min(delay * 2, RETRY_MAX_S)
            log.debug("connect failed (%s); retry in %.0fs", exc, delay)
            self._schedule(client, delay)

    def _schedule(self, client: mqtt.Client, delay: float) -> None:
        if client in self._retry_due:
            return
        self._retry_due.add(client)
        # Jitter: after a broker restart, hundreds of agents must not reconnect in step.
        when = time.monotonic() + delay * random.uniform(0.5, 1.0)
        heapq.heappush(self._retry, (when, next(self._order), client))

    def _misc(self) -> None:
        for client in list(self._clients):
            if client.socket() is not None:
                try:
                    rc = client.loop_misc()
                except Exception:
                    self._contain(client)
                    continue
                if rc == MQTTErrorCode.MQTT_ERR_SUCCESS and client.is_connected():
                    self._delay.pop(client, None)
                continue
            if client in self._retiring:
                self._clients.discard(client)
                self._retiring.discard(client)
                self._delay.pop(client, None)
            else:
                self._schedule(client, self._delay.get(client, RETRY_MIN_S))

    def _contain(self, client: mqtt.Client) -> None:
        """One agent's failing callback must not stop the network of all the others:
        drop its connection (the reconnect replays its outbox) and carry on."""
        log.exception("client %s failed in the network loop; reconnecting it",
                      client._client_id.decode(errors="replace"))
        self._drop_socket(client)

    def _drop_socket(self, client: mqtt.Client) -> None:
        sock = client.socket()
        if sock is not None:
            self._unset(sock)
            with suppress(OSError):
                sock.close()
        client._sock = None  # paho has no public "forget the socket"; reconnect() starts afresh

    def _run(self) -> None:
        next_misc = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            until = next_misc
            if self._retry:
                until = min(until, self._retry[0][0])
            for key, mask in self._sel.select(max(0.0, min(until - now, MISC_INTERVAL_S))):
                client = key.data
                if client is None:
                    try:
                        while self._wake_r.recv(4096):
                            pass
                    except BlockingIOError:
                        pass
                    continue
                try:
                    if mask & selectors.EVENT_READ:
                        client.loop_read()
                    if mask & selectors.EVENT_WRITE and client.socket() is key.fileobj:
                        client.loop_write()
                except Exception:
                    self._contain(client)
            while self._calls:
                self._calls.popleft()()
            now = time.monotonic()
            while self._retry and self._retry[0][0] <= now:
                _, _, client = heapq.heappop(self._retry)
                self._connect(client)
            if now >= next_misc:
                self._misc()
                next_misc = now + MISC_INTERVAL_S
