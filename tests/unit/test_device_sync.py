"""Keeping gates in sync, without PostgreSQL or a broker: tokens, versions, pushes, the
document and its base64 encodings, the gate's config, and the gate's pull against a
stand-in hub on a local HTTP port."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from edge.cards.cardlist import load_cards
from edge.config import AgentConfig, load_config
from edge.config.gate import GateConfig, SyncConfig
from edge.gate.policy import CardEntry
from edge.gate.sync import (
    build_gallery,
    card_table,
    cards_text,
    check_identity,
    device_token,
    parse_document,
    pull,
    sync_url,
)
from faces.gallery import ENCODING_DIM, Gallery, GalleryEntry
from faces.keys import KEY_ENV, new_key
from hub.devices.publisher import GateTarget, Push, due_pushes, sync_command
from hub.devices.sync import (
    CardRow,
    ConsentRow,
    SchoolState,
    SyncVersion,
    advance,
    consent_reference,
    sync_card,
    sync_document,
    sync_faces,
)
from hub.devices.tokens import (
    Device,
    access_refusal,
    bearer_token,
    hash_token,
    new_token,
    token_matches,
)
from protocol import Accepted, CmdPayload, decode
from protocol.messages import to_json
from protocol.sync import ENCODING_BYTES, SyncCard, SyncError, decode_encoding, encode_encoding

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 9, 8, 7, 0, tzinfo=UTC)
GATE = Device("th-t-gate-1", "th-t", "gate")


def vector(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.1, ENCODING_DIM).astype(np.float32)


def raw(seed: int) -> bytes:
    return vector(seed).astype("<f4").tobytes()


# --- tokens -------------------------------------------------------------------------------


def test_new_tokens_are_long_random_and_url_safe():
    tokens = {new_token() for _ in range(50)}
    assert len(tokens) == 50
    for token in tokens:
        assert len(token) == 43
        assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_the_hub_keeps_the_sha256_only():
    assert hash_token("abc") == hashlib.sha256(b"abc").hexdigest()
    assert hash_token("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")


TOKEN = "k" * 43


@pytest.mark.parametrize(("token", "stored", "ok"), [
    (TOKEN, hash_token(TOKEN), True),
    (TOKEN, hash_token(TOKEN + "x"), False),
    (TOKEN + "x", hash_token(TOKEN), False),
    (TOKEN, None, False),  # a gate never given a token
    (TOKEN, TOKEN, False),  # a token stored in clear by mistake does not match itself
    (TOKEN, hash_token(TOKEN).upper(), False),
])
def test_token_verification(token, stored, ok):
    assert token_matches(token, stored) is ok


@pytest.mark.parametrize(("header", "token"), [
    (None, None),
    ("", None),
    (f"Bearer {TOKEN}", TOKEN),
    (f"bearer {TOKEN}", TOKEN),
    (f"  Bearer   {TOKEN}  ", TOKEN),
    ("Bearer", None),
    ("Bearer ", None),
    (f"Basic {TOKEN}", None),
    (TOKEN, None),
    ("Bearer two words", None),
    ("Bearer " + "x" * 257, None),
    ("Bearer tökén", None),
    ("Bearer a\x00b", None),
])
def test_bearer_header(header, token):
    assert bearer_token(header) == token


@pytest.mark.parametrize(("role", "refused"), [("gate", False), ("classroom", True)])
def test_only_gates_sync(role, refused):
    reason = access_refusal(Device("d1", "s1", role))
    assert (reason is not None) is refused
    if refused:
        assert "only gates" in str(reason)


# --- versions -----------------------------------------------------------------------------

A = SchoolState(3, "digest-a")


@pytest.mark.parametrize(("stored", "observed", "expected"), [
    (None, A, SyncVersion(1, A)),  # first sight of a school
    (SyncVersion(7, A), A, None),  # nothing changed
    (SyncVersion(7, A), SchoolState(4, "digest-a"), SyncVersion(8, SchoolState(4, "digest-a"))),
    (SyncVersion(7, A), SchoolState(3, "digest-b"), SyncVersion(8, SchoolState(3, "digest-b"))),
    (SyncVersion(7, A), SchoolState(4, "digest-b"), SyncVersion(8, SchoolState(4, "digest-b"))),
    # a gallery version going back (a restored backup) is a change too, and the sync
    # version still only grows
    (SyncVersion(7, A), SchoolState(1, "digest-a"), SyncVersion(8, SchoolState(1, "digest-a"))),
])
def test_version_advances_exactly_when_the_state_changes(stored, observed, expected):
    assert advance(stored, observed) == expected


def test_versions_only_grow_over_a_run_of_changes():
    stored = None
    seen = []
    for state in [A, A, SchoolState(4, "x"), SchoolState(4, "x"), SchoolState(4, "y"), A]:
        bumped = advance(stored, state)
        stored = bumped or stored
        assert stored is not None
        seen.append(stored.version)
    assert seen == [1, 1, 2, 2, 3, 4]


# --- pushes -------------------------------------------------------------------------------

NOW = T0
RETRY = timedelta(seconds=120)


@pytest.mark.parametrize(("target", "versions", "due"), [
    (GateTarget("g1", "s1", None, None, False), {"s1": 1}, True),  # never pushed
    (GateTarget("g1", "s1", 1, NOW, False), {"s1": 1}, False),  # up to date
    (GateTarget("g1", "s1", 1, NOW, False), {"s1": 2}, True),  # behind
    (GateTarget("g1", "s1", 3, NOW, False), {"s1": 2}, True),  # ahead (restored db): resend
    (GateTarget("g1", "s1", 1, NOW, False), {}, False),  # school unknown to the versions
    (GateTarget("g1", "s1", 1, NOW - timedelta(seconds=30), True), {"s1": 1}, False),
    (GateTarget("g1", "s1", 1, NOW - timedelta(seconds=120), True), {"s1": 1}, True),
    (GateTarget("g1", "s1", 1, NOW - timedelta(hours=2), False), {"s1": 1}, False),
])
def test_due_pushes(target, versions, due):
    got = due_pushes([target], versions, now=NOW, retry_after=RETRY)
    assert got == ([Push("g1", "s1", versions["s1"])] if due else [])


def test_every_gate_of_a_changed_school_is_told_and_only_those():
    targets = [GateTarget("a1", "a", 1, NOW, False), GateTarget("a2", "a", None, None, False),
               GateTarget("b1", "b", 5, NOW, False)]
    got = due_pushes(targets, {"a": 2, "b": 5}, now=NOW, retry_after=RETRY)
    assert got == [Push("a1", "a", 2), Push("a2", "a", 2)]


def test_the_push_is_a_protocol_cmd_for_the_gates_topic():
    cmd_id = uuid.uuid4()
    command = sync_command(Push("th-t-gate-1", "th-t", 42), seq=9, at=T0, cmd_id=cmd_id)
    result = decode("ss/v1/th-t/th-t-gate-1/cmd", to_json(command))
    assert isinstance(result, Accepted)
    assert isinstance(result.payload, CmdPayload)
    assert (result.payload.id, result.payload.name, result.payload.args, result.payload.seq) == (
        cmd_id, "sync-gallery", {"version": 42}, 9)


# --- the document -------------------------------------------------------------------------


@pytest.mark.parametrize(("row", "status", "kind"), [
    (CardRow("04A1", "p1", "active", False, True), "active", "student"),
    (CardRow("04A1", "p1", "lost", False, True), "lost", "student"),
    (CardRow("04A1", "p1", "blocked", False, True), "blocked", "student"),
    (CardRow("04A1", "p1", "active", True, True), "active", "staff"),
    # the holder left: the card no longer opens, the denial still names them
    (CardRow("04A1", "p1", "active", False, False), "blocked", "student"),
    (CardRow("04A1", "p1", "lost", True, False), "lost", "staff"),
])
def test_cards_as_the_gate_gets_them(row, status, kind):
    card = sync_card(row)
    assert (card.uid, card.person, card.status, card.kind) == ("04A1", "p1", status, kind)


def consent(person: str, ident: int, role: str = "guardian") -> ConsentRow:
    return ConsentRow(person, ident, role, datetime(2025, 9, 1, 8, 0, tzinfo=UTC))


def test_consent_reference_names_records_not_people():
    ref = consent_reference([consent("p1", 12), consent("p1", 13, "self")])
    assert ref == "hub consents #12 (guardian, 2025-09-01), #13 (self, 2025-09-01)"


def test_gallery_holds_persons_with_active_consent_only():
    faces = sync_faces(
        [("p2", raw(2)), ("p1", raw(1)), ("p1", raw(11)), ("ghost", raw(3))],
        [consent("p1", 1), consent("p2", 2), consent("p2", 3, "self"), consent("nobody", 4)],
    )
    assert [(f.person, len(f.encodings)) for f in faces] == [("p1", 2), ("p2", 1)]
    assert faces[1].consent == "hub consents #2 (guardian, 2025-09-01), #3 (self, 2025-09-01)"


def test_encodings_round_trip_bit_for_bit_through_base64_and_the_gate_gallery():
    encodings = [("p1", raw(1)), ("p1", raw(2)), ("p2", raw(3))]
    doc = sync_document(GATE, version=4, at=T0,
                        cards=[CardRow("04A1B2C3", "p1", "active", False, True)],
                        faces=sync_faces(encodings, [consent("p1", 1), consent("p2", 2)]))
    wire = doc.model_dump_json().encode()
    body = json.loads(wire)
    assert set(body) == {"school", "device", "version", "generated_at", "cards", "gallery"}
    assert body["cards"] == [{"uid": "04A1B2C3", "person": "p1", "status": "active",
                              "kind": "student"}]
    assert body["gallery"][0]["person"] == "p1" and len(body["gallery"][0]["encodings"]) == 2
    parsed = parse_document(wire)
    assert parsed == doc
    assert parsed.gallery is not None
    gallery = build_gallery(parsed.gallery)
    assert gallery.persons == ["p1", "p2"]
    p1 = gallery.entry("p1")
    assert p1 is not None
    assert p1.encodings.tobytes() == raw(1) + raw(2)  # little-endian float32, unchanged
    assert p1.consent == "hub consents #1 (guardian, 2025-09-01)"


def test_a_card_only_document_has_no_gallery():
    doc = sync_document(GATE, version=1, at=T0, cards=[], faces=None)
    assert json.loads(doc.model_dump_json())["gallery"] is None


@pytest.mark.parametrize(("text", "reason"), [
    ("not base64!", "not base64"),
    (encode_encoding(raw(1))[:-3], "not base64"),  # bad padding
    (encode_encoding(raw(1))[:-8], "507 bytes, not 512"),  # cut short
    ("AAAA", f"3 bytes, not {ENCODING_BYTES}"),
])
def test_bad_encodings_are_refused(text, reason):
    with pytest.raises(SyncError, match=reason):
        decode_encoding(text)


def test_encode_refuses_a_wrong_length():
    with pytest.raises(ValueError, match="512 bytes"):
        encode_encoding(b"\x00" * 100)


def test_non_finite_encodings_are_refused():
    bad = np.full(ENCODING_DIM, np.nan, dtype="<f4").tobytes()
    face = sync_faces([("p1", bad)], [consent("p1", 1)])
    with pytest.raises(SyncError, match="NaN"):
        build_gallery(face)


GOOD = {"school": "th-t", "device": "th-t-gate-1", "version": 1,
        "generated_at": "2025-09-08T07:00:00+07:00", "cards": [], "gallery": None}


@pytest.mark.parametrize(("change", "where"), [
    ({"version": -1}, "version"),
    ({"version": "1"}, "version"),  # strict: no silent coercion
    ({"generated_at": "2025-09-08T07:00:00"}, "generated_at"),  # no offset
    ({"cards": [{"uid": "04a1", "person": "p", "status": "active", "kind": "student"}]},
     "cards.0.uid"),
    ({"cards": [{"uid": "04A1", "person": "p", "status": "stolen", "kind": "student"}]},
     "cards.0.status"),
    ({"gallery": [{"person": "p", "consent": "", "encodings": ["x"]}]}, "gallery.0.consent"),
    ({"gallery": [{"person": "p", "consent": "c", "encodings": []}]}, "gallery.0.encodings"),
])
def test_a_malformed_document_is_refused_with_where(change, where):
    with pytest.raises(SyncError, match=f"not a sync document: {where}"):
        parse_document(json.dumps({**GOOD, **change}).encode())


def test_unknown_fields_from_a_newer_hub_are_ignored():
    assert parse_document(json.dumps({**GOOD, "photo_policy": "none"}).encode()).version == 1


def test_not_json_is_refused():
    with pytest.raises(SyncError, match="not a sync document"):
        parse_document(b"<html>proxy error</html>")


@pytest.mark.parametrize(("device", "school", "ok"), [
    ("th-t-gate-1", "th-t", True),
    ("th-t-gate-2", "th-t", False),
    ("th-t-gate-1", "th-u", False),
])
def test_a_document_for_another_device_is_refused(device, school, ok):
    doc = parse_document(json.dumps(GOOD).encode())
    if ok:
        check_identity(doc, device=device, school=school)
    else:
        with pytest.raises(SyncError, match="another device's token"):
            check_identity(doc, device=device, school=school)


CARDS = [SyncCard(uid="04A1B2C3", person="p1", status="active", kind="student"),
         SyncCard(uid="04A1B2C4", person="gv-1", status="active", kind="staff"),
         SyncCard(uid="12345678", person="p2", status="lost", kind="student")]


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".csv", ".CSV"])
def test_the_written_card_list_reads_back_as_the_gate_reads_it(tmp_path, suffix):
    path = tmp_path / f"cards{suffix}"
    path.write_text(cards_text(CARDS, csv_format=suffix.lower() == ".csv", version=3, at=T0))
    assert load_cards(path) == {
        "04A1B2C3": CardEntry("p1"), "04A1B2C4": CardEntry("gv-1", kind="staff"),
        "12345678": CardEntry("p2", status="lost"),  # an all-digit UID stays a string
    }


@pytest.mark.parametrize("csv_format", [False, True])
def test_an_empty_card_list_is_still_a_valid_file(tmp_path, csv_format):
    path = tmp_path / ("cards.csv" if csv_format else "cards.yaml")
    path.write_text(cards_text([], csv_format=csv_format, version=1, at=T0))
    assert load_cards(path) == {}


def test_duplicate_uids_are_refused():
    with pytest.raises(SyncError, match="listed twice"):
        card_table([CARDS[0], CARDS[0]])


def test_sync_url():
    assert sync_url("https://hub.example.vn/ss/", gallery=False) == (
        "https://hub.example.vn/ss/api/v1/device/sync?gallery=false")


# --- the gate's config --------------------------------------------------------------------


@pytest.mark.parametrize(("changes", "problem"), [
    ({"hub_url": "https://hub.example.vn"}, None),
    ({"hub_url": "https://hub.example.vn:8443/smartschool/"}, None),
    ({"hub_url": "http://127.0.0.1:8000"}, None),
    ({"hub_url": "http://localhost:8000"}, None),
    ({"hub_url": "http://[::1]:8000"}, None),
    ({"hub_url": "http://hub.example.vn"}, "must be https"),
    ({"hub_url": "http://10.0.0.5:8000"}, "must be https"),
    ({"hub_url": "ftp://hub.example.vn"}, "not an http(s)"),
    ({"hub_url": "hub.example.vn"}, "not an http(s)"),
    ({"hub_url": "https://user:pw@hub.example.vn"}, "no credentials"),
    ({"hub_url": "https://hub.example.vn/?x=1"}, "no credentials, query"),
    ({"token_env": "lower_case"}, "should match pattern"),
    ({"token_credential": "../etc/passwd"}, "should match pattern"),
    ({"timeout": 0}, "greater than 0"),
    ({"timeout": 600}, "less than or equal to 120"),
    ({"token": "abc"}, "Extra inputs"),  # the token never goes into the YAML
])
def test_sync_section_validation(changes, problem):
    values = {"hub_url": "https://hub.example.vn", **changes}
    if problem is None:
        config = SyncConfig.model_validate(values)
        assert not config.hub_url.endswith("/")
        assert (config.token_env, config.token_credential, config.timeout) == (
            "SMARTSCHOOL_DEVICE_TOKEN", "device_token", 10.0)
    else:
        with pytest.raises(ValidationError, match=problem.replace("(", r"\(").replace(")", r"\)")):
            SyncConfig.model_validate(values)


@pytest.mark.parametrize(("gate", "problem"), [
    ({"mode": "card", "cards_file": "cards.yaml"}, None),
    ({"mode": "card"}, "sync needs cards_file"),
    ({"mode": "face", "face": {"gallery_file": "g.bin"}}, None),
    ({"mode": "face", "face": {}}, "sync needs face.gallery_file"),
    ({"mode": "card-or-face", "cards_file": "cards.yaml", "face": {}},
     "sync needs face.gallery_file"),
    ({"mode": "card-and-face", "face": {"gallery_file": "g.bin"}}, "sync needs cards_file"),
])
def test_sync_needs_the_files_it_writes(tmp_path, gate, problem):
    (tmp_path / "cards.yaml").write_text("{}\n")
    values = {**gate, "sync": {"hub_url": "https://hub.example.vn"}}
    if "cards_file" in values:
        values["cards_file"] = str(tmp_path / values["cards_file"])
    if problem is None:
        assert GateConfig.model_validate(values).sync is not None
    else:
        with pytest.raises(ValidationError, match=problem):
            GateConfig.model_validate(values)


@pytest.mark.parametrize("name", ["gate.example.yaml", "gate-face.example.yaml"])
def test_the_examples_commented_sync_section_loads_when_uncommented(tmp_path, name):
    text = (ROOT / "firmware_configs" / name).read_text()
    lines = [line.replace("  # ", "  ", 1) if line.startswith(("  # sync:", "  #   "))
             else line for line in text.splitlines()]
    (tmp_path / name).write_text("\n".join(lines) + "\n")
    (tmp_path / "cards.example.yaml").write_text("{}\n")
    config = load_config(tmp_path / name)
    assert config.gate is not None and config.gate.sync is not None
    assert config.gate.sync.hub_url == "https://hub.duongkinh.example.vn"


def test_token_from_the_environment_then_the_credential(tmp_path, monkeypatch):
    monkeypatch.delenv("SMARTSCHOOL_DEVICE_TOKEN", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    assert device_token("SMARTSCHOOL_DEVICE_TOKEN", "device_token") is None
    (tmp_path / "device_token").write_text("from-credential\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert device_token("SMARTSCHOOL_DEVICE_TOKEN", "device_token") == "from-credential"
    monkeypatch.setenv("SMARTSCHOOL_DEVICE_TOKEN", "from-env")
    assert device_token("SMARTSCHOOL_DEVICE_TOKEN", "device_token") == "from-env"


# --- pulling from a stand-in hub ----------------------------------------------------------


class StandInHub:
    """Answers GET /api/v1/device/sync with ``document`` for ``token``, 401 otherwise."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = {}
        self.token = TOKEN
        self.status: int | None = None  # forces an answer (e.g. 302, 500)
        self.requests: list[str] = []
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hub.requests.append(self.path)
                if hub.status is not None:
                    self.send_response(hub.status)
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.headers.get("Authorization") != f"Bearer {hub.token}":
                    body = json.dumps({"detail": "unknown device token"}).encode()
                    self.send_response(401)
                else:
                    body = json.dumps(hub.document).encode()
                    self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stand_in() -> Iterator[StandInHub]:
    hub = StandInHub()
    hub.document = json.loads(sync_document(
        GATE, version=5, at=T0, cards=[CardRow("04A1B2C3", "p1", "lost", False, True)],
        faces=sync_faces([("p1", raw(1))], [consent("p1", 1)])).model_dump_json())
    yield hub
    hub.close()


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> bytes:
    value = new_key()
    monkeypatch.setenv(KEY_ENV, value.decode())
    return value


@pytest.fixture
def files(tmp_path: Path, key: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("SMARTSCHOOL_DEVICE_TOKEN", TOKEN)
    cards, gallery = tmp_path / "cards.yaml", tmp_path / "gallery.bin"
    cards.write_text("04A1B2C3: {person: p1, status: active}\n")
    Gallery([GalleryEntry("old", "c", vector(9))]).save(gallery)
    return cards, gallery


def sync_config(url: str, **extra: Any) -> SyncConfig:
    return SyncConfig.model_validate({"hub_url": url, "timeout": 5, **extra})


def test_pull_writes_both_files_and_the_gallery_only_encrypted(stand_in, files, key):
    cards, gallery = files
    pulled = pull(sync_config(stand_in.url), device=GATE.id, school=GATE.school,
                  cards_file=cards, gallery_file=gallery)
    assert (pulled.version, pulled.cards, pulled.gallery_persons) == (5, 1, 1)
    assert load_cards(cards) == {"04A1B2C3": CardEntry("p1", status="lost")}
    data = gallery.read_bytes()
    assert b"SSGAL1" not in data and raw(1) not in data  # never in clear on disk
    assert Gallery.load(gallery, key).persons == ["p1"]
    assert gallery.stat().st_mode & 0o777 == 0o600
    assert stand_in.requests == ["/api/v1/device/sync?gallery=true"]
    assert sorted(p.name for p in cards.parent.iterdir()) == ["cards.yaml", "gallery.bin"]


def test_a_card_only_gate_asks_without_faces(stand_in, files):
    cards, _ = files
    stand_in.document["gallery"] = None
    pulled = pull(sync_config(stand_in.url), device=GATE.id, school=GATE.school,
                  cards_file=cards, gallery_file=None)
    assert (pulled.cards, pulled.gallery_persons) == (1, None)
    assert stand_in.requests == ["/api/v1/device/sync?gallery=false"]


def unchanged(files: tuple[Path, Path]) -> tuple[bytes, bytes]:
    return files[0].read_bytes(), files[1].read_bytes()


@pytest.mark.parametrize(("setup", "reason"), [
    (lambda hub, mp: setattr(hub, "token", "another"), r"refused the sync \(401\): unknown "),
    (lambda hub, mp: mp.delenv("SMARTSCHOOL_DEVICE_TOKEN"), "no device token"),
    (lambda hub, mp: hub.document.update(device="th-t-gate-2"), "another device's token"),
    (lambda hub, mp: hub.document.update(cards=[{"uid": "x"}]), "not a sync document"),
    (lambda hub, mp: hub.document.update(gallery=None), "sent no gallery"),
    (lambda hub, mp: mp.delenv(KEY_ENV), "no gallery key"),
    (lambda hub, mp: setattr(hub, "status", 500), r"refused the sync \(500\)"),
    # a redirect would carry the token elsewhere: refused, not followed
    (lambda hub, mp: setattr(hub, "status", 302), r"refused the sync \(302\)"),
])
def test_a_failed_pull_changes_no_file(stand_in, files, monkeypatch, setup, reason):
    before = unchanged(files)
    setup(stand_in, monkeypatch)
    with pytest.raises(SyncError, match=reason):
        pull(sync_config(stand_in.url), device=GATE.id, school=GATE.school,
             cards_file=files[0], gallery_file=files[1])
    assert unchanged(files) == before
    assert sorted(p.name for p in files[0].parent.iterdir()) == ["cards.yaml", "gallery.bin"]


def test_an_unreachable_hub_is_a_sync_error(files, monkeypatch):
    from tests.conftest import free_port

    with pytest.raises(SyncError, match="cannot reach the hub"):
        pull(sync_config(f"http://127.0.0.1:{free_port()}"), device=GATE.id,
             school=GATE.school, cards_file=files[0], gallery_file=files[1])


# --- the gate's command -------------------------------------------------------------------


def gate_agent(tmp_path: Path, sync: SyncConfig, cards_file: Path) -> Any:
    from edge.clock import ManualClock
    from edge.gate.agent import GateAgent
    from edge.hardware.feedback import LogFeedback
    from edge.hardware.relay import NoopRelay
    from edge.outbox import Outbox

    config = AgentConfig.model_validate({
        "device": GATE.id, "school": GATE.school, "role": "gate",
        "mqtt": {"url": "mqtt://127.0.0.1:1"}, "heartbeat_s": 3600,
        "outbox": {"path": str(tmp_path / "outbox.sqlite3"), "synchronous": "normal"},
        "gate": {"cards_file": str(cards_file), "anti_passback_minutes": 0,
                 "sync": sync.model_dump()},
    })
    return GateAgent(config, clock=ManualClock(T0), outbox=Outbox(tmp_path / "outbox.sqlite3"),
                     relay=NoopRelay(), cards=load_cards(cards_file), feedback=LogFeedback(),
                     password="", host=lambda: {})


def command() -> CmdPayload:
    return CmdPayload(v=1, type="cmd", device=GATE.id, seq=1, ts=T0, id=uuid.uuid4(),
                      name="sync-gallery", args={"version": 5})


def test_the_gate_applies_a_sync_and_denies_the_lost_card(stand_in, files, tmp_path):
    agent = gate_agent(tmp_path, sync_config(stand_in.url), files[0])
    try:
        result = agent.commands.handle(command())  # the file said active, the hub lost
        assert result.ok, result.detail
        assert result.detail == {"version": 5, "cards": 1}
        outcome = agent.handle_tap("04A1B2C3")
        assert (outcome.decision.decision, outcome.decision.reason.value) == (
            "denied", "card-lost")
    finally:
        agent.outbox.close()


def test_a_refused_sync_replies_not_ok_and_keeps_the_cards(stand_in, files, tmp_path):
    stand_in.token = "another"
    agent = gate_agent(tmp_path, sync_config(stand_in.url), files[0])
    try:
        result = agent.commands.handle(command())
        assert not result.ok
        assert "keeps its current cards" in str(result.detail)
        assert "401" in str(result.detail)
        assert agent.handle_tap("04A1B2C3").decision.decision == "granted"
    finally:
        agent.outbox.close()



def test_a_syncing_gate_boots_before_its_first_card_list(stand_in, files, tmp_path,
                                                         monkeypatch):
    """First boot on a fresh Pi: the card list does not exist yet. A gate with a sync
    section starts knowing nobody and the hub's (retained) sync-gallery fills it."""
    from edge.agent import build_agent
    from edge.gate import agent as gate_agent
    from edge.hardware.relay import NoopRelay

    monkeypatch.setattr(gate_agent, "DEBOUNCE_S", 0.0)  # the same card tapped twice here

    fresh = tmp_path / "first" / "cards.yaml"
    fresh.parent.mkdir()
    values = {
        "device": GATE.id, "school": GATE.school, "role": "gate",
        "mqtt": {"url": "mqtt://127.0.0.1:1"}, "heartbeat_s": 3600,
        "outbox": {"path": str(tmp_path / "first.sqlite3"), "synchronous": "normal"},
        "gate": {"cards_file": str(fresh), "reader": "simulated",
                 "sync": sync_config(stand_in.url).model_dump()},
    }
    agent = build_agent(AgentConfig.model_validate(values), relay=NoopRelay(), password="",
                        data_dir=tmp_path)
    try:
        assert agent.handle_tap("04A1B2C3").decision.reason.value == "unknown-card"
        result = agent.commands.handle(command())
        assert result.ok, result.detail
        assert load_cards(fresh) == {"04A1B2C3": CardEntry("p1", status="lost")}
        assert agent.handle_tap("04A1B2C3").decision.reason.value == "card-lost"
    finally:
        agent.outbox.close()
    # without a sync section a missing card list is still a mistake in the config
    values["gate"] = {"cards_file": str(tmp_path / "nope.yaml")}
    with pytest.raises(ValueError, match="does not exist"):
        AgentConfig.model_validate(values)
