"""A gate's sync from the hub: GET /api/v1/device/sync, then the card list and the gallery
written to the gate's own files, atomically.

The wire document is protocol.sync's, which the hub's API builds too (hub/devices/sync.py).

Nothing on disk changes unless everything arrived and checked out: the answer is parsed,
the gallery built and encrypted, and both files staged next to their targets before
either is renamed over the old one. Any failure raises :class:`SyncError` with the reason
and leaves the gate's files as they were.

Stdlib ``urllib``: the edge extra has no HTTP client, and one GET does not need one.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import urlencode

import yaml
from pydantic import ValidationError as PydanticValidationError

from edge.gate.policy import CardEntry
from protocol.sync import (
    ENCODING_DIM,
    SYNC_PATH,
    SyncCard,
    SyncDocument,
    SyncError,
    SyncFace,
    decode_encoding,
)

if TYPE_CHECKING:  # the face extra (numpy, cryptography) is not on a card-only Pi
    from edge.config.gate import SyncConfig
    from faces.gallery import Gallery

# A school of 2,000 enrolled persons with 5 encodings each is about 7 MB of JSON;
# anything far beyond is not a sync document, and must not exhaust a Pi's memory.
MAX_RESPONSE_BYTES: Final = 64 * 2**20
MAX_ERROR_BYTES: Final = 4096
USER_AGENT: Final = "smartschool-gate"


# --- pure helpers ----------------------------------------------------------------------


def sync_url(hub_url: str, *, gallery: bool) -> str:
    return f"{hub_url.rstrip('/')}{SYNC_PATH}?{urlencode({'gallery': str(gallery).lower()})}"


def parse_document(raw: bytes) -> SyncDocument:
    try:
        return SyncDocument.model_validate_json(raw)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        raise SyncError(f"the hub's answer is not a sync document: {where}: "
                        f"{first['msg']}") from None


def check_identity(doc: SyncDocument, *, device: str, school: str) -> None:
    """A token copied to the wrong Pi must not turn it into another school's gate."""
    if doc.device != device or doc.school != school:
        raise SyncError(f"the hub answered for {doc.device} of {doc.school}, not {device} of "
                        f"{school}: this gate holds another device's token")


def card_table(cards: Sequence[SyncCard]) -> dict[str, CardEntry]:
    table: dict[str, CardEntry] = {}
    for card in cards:
        if card.uid in table:
            raise SyncError(f"card {card.uid} is listed twice")
        table[card.uid] = CardEntry(person=card.person, status=card.status, kind=card.kind)
    return table


def cards_text(cards: Sequence[SyncCard], *, csv_format: bool, version: int,
               at: datetime) -> str:
    """The card list in the format edge.cards.cardlist reads (by the file's suffix)."""
    card_table(cards)  # refuses duplicates before anything is written
    if csv_format:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["uid", "person", "status", "kind"])
        for card in cards:
            writer.writerow([card.uid, card.person, card.status, card.kind])
        return out.getvalue()
    body = {c.uid: {"person": c.person, "status": c.status, "kind": c.kind} for c in cards}
    head = (f"# Written by the gate's sync from the hub: version {version}, read "
            f"{at.isoformat(timespec='seconds')}. Edits are overwritten at the next sync.\n")
    return head + (yaml.safe_dump(body, allow_unicode=True, sort_keys=True) if body else "{}\n")


def build_gallery(faces: Sequence[SyncFace]) -> Gallery:
    """The gallery of the document (numpy: the face extra)."""
    import numpy as np

    from faces.gallery import Gallery, GalleryEntry, GalleryError

    entries = []
    for face in faces:
        raw = b"".join(decode_encoding(e) for e in face.encodings)
        matrix = np.frombuffer(raw, dtype="<f4").reshape(-1, ENCODING_DIM).astype(np.float32)
        if not np.isfinite(matrix).all():
            raise SyncError(f"{face.person}: an encoding holds NaN or infinity")
        try:
            entries.append(GalleryEntry(face.person, face.consent, matrix))
        except (GalleryError, ValueError) as exc:
            raise SyncError(str(exc)) from None
    try:
        return Gallery(entries)
    except GalleryError as exc:
        raise SyncError(str(exc)) from None


# --- I/O -------------------------------------------------------------------------------


def device_token(env: str, credential: str) -> str | None:
    """The token: the environment wins, then ``$CREDENTIALS_DIRECTORY/<credential>``.

    Read at every sync, so a rotated token works without restarting the gate.
    """
    value = os.environ.get(env, "").strip()
    if value:
        return value
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if directory:
        path = Path(directory) / credential
        if path.is_file():
            return path.read_text(encoding="utf-8").strip() or None
    return None


def _refusal(exc: urllib.error.HTTPError) -> str:
    try:
        body = exc.read(MAX_ERROR_BYTES)
        detail = json.loads(body).get("detail")
    except (OSError, ValueError, AttributeError):
        detail = None
    return f"the hub refused the sync ({exc.code}): {detail or exc.reason}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """urllib would resend the Authorization header to wherever a redirect points; the
    token goes to the configured hub only, so a redirect is an error to fix in hub_url."""

    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def fetch(hub_url: str, token: str, *, timeout: float, gallery: bool) -> SyncDocument:
    url = sync_url(hub_url, gallery=gallery)
    request = urllib.request.Request(  # noqa: S310 - the config allows only http(s)
        url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json",
                      "User-Agent": USER_AGENT})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            raw = response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        try:
            raise SyncError(_refusal(exc)) from None
        finally:
            exc.close()
    except urllib.error.URLError as exc:
        raise SyncError(f"cannot reach the hub at {hub_url}: {exc.reason}") from None
    except (TimeoutError, OSError) as exc:
        raise SyncError(f"cannot reach the hub at {hub_url}: {exc}") from None
    if len(raw) > MAX_RESPONSE_BYTES:
        raise SyncError(f"the hub's answer exceeds {MAX_RESPONSE_BYTES // 2**20} MiB")
    return parse_document(raw)


def _stage(target: Path, data: bytes) -> Path:
    """``data`` in a temporary file beside ``target`` (same file system), synced, 0600."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".sync", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(name, 0o600)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


@dataclass(frozen=True, slots=True)
class Pulled:
    version: int
    cards: int | None  # None: no card list written
    gallery_persons: int | None  # None: no gallery written


def pull(config: SyncConfig, *, device: str, school: str, cards_file: Path | None,
         gallery_file: Path | None) -> Pulled:
    """Fetch, check, and replace ``cards_file`` and ``gallery_file`` (those not None).

    The gallery is encrypted with the gate's own key (SMARTSCHOOL_GALLERY_KEY or the
    credential gallery_key) before it touches the disk; it is never written in clear.
    """
    token = device_token(config.token_env, config.token_credential)
    if token is None:
        raise SyncError(f"no device token: set {config.token_env} or give the service the "
                        f"systemd credential {config.token_credential} "
                        "(`smartschool devices token DEVICE` on the hub issues one)")
    doc = fetch(config.hub_url, token, timeout=config.timeout,
                gallery=gallery_file is not None)
    check_identity(doc, device=device, school=school)
    staged: list[tuple[Path, bytes]] = []
    if cards_file is not None:
        text = cards_text(doc.cards, csv_format=cards_file.suffix.lower() == ".csv",
                          version=doc.version, at=doc.generated_at)
        staged.append((cards_file, text.encode("utf-8")))
    persons = None
    if gallery_file is not None:
        if doc.gallery is None:
            raise SyncError("the hub sent no gallery")
        from faces.keys import GalleryKeyError, require_key

        gallery = build_gallery(doc.gallery)
        try:
            fernet = require_key()
        except GalleryKeyError as exc:
            raise SyncError(str(exc)) from None
        staged.append((gallery_file, fernet.encrypt(gallery.to_plaintext())))
        persons = len(gallery)
    temporary: list[tuple[Path, Path]] = []
    try:
        for target, data in staged:
            temporary.append((_stage(target, data), target))
        for tmp, target in temporary:
            os.replace(tmp, target)
    except OSError as exc:
        raise SyncError(f"cannot write {exc.filename or 'the synced files'}: "
                        f"{exc.strerror or exc}") from None
    finally:
        for tmp, _ in temporary:
            tmp.unlink(missing_ok=True)
    return Pulled(doc.version, len(doc.cards) if cards_file is not None else None, persons)
