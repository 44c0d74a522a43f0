"""The school's gallery: encodings of consented persons, one float32 matrix, encrypted at rest.

Matching is one matrix product: ``|a - b|^2 = |a|^2 + |b|^2 - 2 a.b`` with the
``|b|^2`` of every enrolled encoding computed once at load, so a probe against
100,000 encodings is a single GEMV over a contiguous float32 matrix instead of
100,000 Python-level norms. Rows are grouped by person, which makes "the best
*other* person" a slice assignment rather than a second pass over the labels.

The gallery never holds an image, only 128-float encodings, and only for persons
whose consent reference is recorded with them.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
from cryptography.fernet import InvalidToken

from faces.decision import Candidate
from faces.keys import require_key
from protocol.sync import ENCODING_DIM

_MAGIC = b"SSGAL1\n"
_HEADER_LEN = struct.Struct(">I")

Matrix = npt.NDArray[np.float32]


class GalleryError(Exception):
    """A gallery that cannot be used: unreadable, wrong key, altered, malformed."""


class ConsentRequired(GalleryError):
    """An entry without a consent reference: such a person is never enrolled."""


def as_encodings(values: npt.ArrayLike) -> Matrix:
    """``values`` as a C-contiguous (k, 128) float32 matrix (one vector becomes k=1)."""
    array = np.asarray(values, dtype=np.float32)
    if array.ndim == 1:
        array = array[np.newaxis, :]
    if array.ndim != 2 or array.shape[1] != ENCODING_DIM:
        raise ValueError(f"face encodings are (k, {ENCODING_DIM}), got shape {array.shape}")
    return np.ascontiguousarray(array)


@dataclass(frozen=True, slots=True, eq=False)
class GalleryEntry:
    person: str
    consent: str  # reference to the signed consent (form number, date, guardian): required
    encodings: Matrix = field(repr=False)

    def __post_init__(self) -> None:
        if not self.person or len(self.person) > 128:
            raise ValueError(f"person id must be 1-128 characters, got {self.person!r}")
        if not self.consent.strip():
            raise ConsentRequired(
                f"{self.person}: no consent reference; a face is enrolled only with the "
                "recorded consent of the person (or guardian)"
            )
        object.__setattr__(self, "encodings", as_encodings(self.encodings))
        if len(self.encodings) == 0:
            raise ValueError(f"{self.person}: an entry needs at least one encoding")


@dataclass(frozen=True, slots=True)
class Ranked:
    """The two closest persons to one face (either may be missing)."""

    best: Candidate | None
    second: Candidate | None


class Gallery:
    """Immutable: the gate swaps the whole object when a new gallery arrives, so a
    frame being matched on another thread never sees half an update."""

    def __init__(self, entries: Iterable[GalleryEntry] = ()) -> None:
        self._entries: dict[str, GalleryEntry] = {}
        for entry in entries:
            if entry.person in self._entries:
                raise GalleryError(f"{entry.person} appears twice in the gallery")
            self._entries[entry.person] = entry
        self._persons = list(self._entries)
        self._slices: dict[str, slice] = {}
        blocks: list[Matrix] = []
        start = 0
        for person, entry in self._entries.items():
            blocks.append(entry.encodings)
            self._slices[person] = slice(start, start + len(entry.encodings))
            start += len(entry.encodings)
        self._matrix: Matrix = (
            np.ascontiguousarray(np.vstack(blocks), dtype=np.float32)
            if blocks
            else np.empty((0, ENCODING_DIM), dtype=np.float32)
        )
        self._matrix.setflags(write=False)
        self._labels = np.repeat(
            np.arange(len(self._persons), dtype=np.int32),
            [len(entry.encodings) for entry in self._entries.values()],
        )
        self._sq_norms: Matrix = np.einsum("ij,ij->i", self._matrix, self._matrix)

    # -- reading ---------------------------------------------------------------------

    def __len__(self) -> int:
        """Number of persons."""
        return len(self._persons)

    def __contains__(self, person: object) -> bool:
        return person in self._entries

    def __iter__(self) -> Iterator[GalleryEntry]:
        return iter(self._entries.values())

    @property
    def persons(self) -> list[str]:
        return list(self._persons)

    @property
    def rows(self) -> int:
        """Number of encodings (several per person)."""
        return len(self._matrix)

    def entry(self, person: str) -> GalleryEntry | None:
        return self._entries.get(person)

    # -- matching --------------------------------------------------------------------

    def squared_distances(self, encodings: npt.ArrayLike) -> Matrix:
        """(k, rows) squared distances of k probes to every enrolled encoding: one GEMM."""
        probes = as_encodings(encodings)
        products = probes @ self._matrix.T
        products *= -2.0
        products += self._sq_norms[np.newaxis, :]
        products += np.einsum("ij,ij->i", probes, probes)[:, np.newaxis]
        # Rounding in the expansion can dip a tiny distance below zero.
        np.maximum(products, 0.0, out=products)
        return products

    def match(self, encodings: npt.ArrayLike) -> list[Ranked]:
        """The closest and second-closest *person* for each probe encoding."""
        probes = as_encodings(encodings)
        if self.rows == 0:
            return [Ranked(None, None) for _ in range(len(probes))]
        squared = self.squared_distances(probes)
        ranked: list[Ranked] = []
        for index, row in enumerate(squared):
            best_row = int(row.argmin())
            best_person = self._persons[int(self._labels[best_row])]
            best = Candidate(best_person, self._exact(probes[index], best_row))
            second: Candidate | None = None
            if len(self._persons) > 1:
                # Our own scratch row: hide the best person's rows, the next minimum
                # is then the best other person.
                row[self._slices[best_person]] = np.inf
                second_row = int(row.argmin())
                second = Candidate(
                    self._persons[int(self._labels[second_row])],
                    self._exact(probes[index], second_row),
                )
            ranked.append(Ranked(best, second))
        return ranked

    def distance_to(self, person: str, encodings: npt.ArrayLike) -> list[float] | None:
        """1:1: each probe's closest distance to ``person``'s own encodings only.

        None when ``person`` is not enrolled. Nobody else's encodings are read.
        """
        where = self._slices.get(person)
        if where is None:
            return None
        probes = as_encodings(encodings).astype(np.float64)
        own = self._matrix[where].astype(np.float64)
        differences = own[np.newaxis, :, :] - probes[:, np.newaxis, :]
        return [float(d) for d in np.linalg.norm(differences, axis=2).min(axis=1)]

    def _exact(self, probe: Matrix, row: int) -> float:
        # The reported distance is recomputed directly in float64 so it equals
        # face_recognition.face_distance; the expansion is only used to rank.
        return float(np.linalg.norm(self._matrix[row].astype(np.float64) - probe))

    # -- changing (returns a new gallery) --------------------------------------------

    def plus(self, entry: GalleryEntry) -> Gallery:
        """This gallery with ``entry`` added, replacing that person's previous entry."""
        kept = [e for e in self._entries.values() if e.person != entry.person]
        return Gallery([*kept, entry])

    def without(self, person: str) -> Gallery:
        """Consent withdrawn or the pupil left: the person's encodings are dropped."""
        return Gallery(e for e in self._entries.values() if e.person != person)

    # -- storage: encrypted, always ----------------------------------------------------

    def to_plaintext(self) -> bytes:
        header = {
            "version": 1,
            "dim": ENCODING_DIM,
            "persons": [
                {"person": e.person, "consent": e.consent, "rows": len(e.encodings)}
                for e in self._entries.values()
            ],
        }
        head = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode()
        body = self._matrix.astype("<f4", copy=False).tobytes()
        return _MAGIC + _HEADER_LEN.pack(len(head)) + head + body

    @classmethod
    def from_plaintext(cls, data: bytes) -> Gallery:
        if not data.startswith(_MAGIC):
            raise GalleryError("not a smartschool gallery")
        offset = len(_MAGIC)
        try:
            (head_len,) = _HEADER_LEN.unpack_from(data, offset)
            offset += _HEADER_LEN.size
            header = json.loads(data[offset : offset + head_len])
            offset += head_len
            if header["version"] != 1 or header["dim"] != ENCODING_DIM:
                raise GalleryError(f"unsupported gallery version {header['version']}")
            total = sum(int(p["rows"]) for p in header["persons"])
            matrix = np.frombuffer(data, dtype="<f4", count=total * ENCODING_DIM, offset=offset)
            if offset + matrix.nbytes != len(data):
                raise GalleryError("gallery size does not match its header")
            matrix = matrix.reshape(total, ENCODING_DIM).astype(np.float32)
            entries = []
            start = 0
            for item in header["persons"]:
                rows = int(item["rows"])
                entries.append(
                    GalleryEntry(item["person"], item["consent"], matrix[start : start + rows])
                )
                start += rows
        except (KeyError, TypeError, ValueError, struct.error) as exc:
            raise GalleryError(f"malformed gallery: {exc}") from None
        return cls(entries)

    def save(self, path: Path, key: bytes | str | None = None) -> None:
        """Encrypt (Fernet: AES-128-CBC + HMAC-SHA256) and write atomically, mode 0600.

        ``key`` None reads it from the environment or the systemd credential.
        """
        token = require_key(key).encrypt(self.to_plaintext())
        path = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path())
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(token)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path, key: bytes | str | None = None) -> Gallery:
        """Decrypt and check a gallery file. Refuses without a key (GalleryKeyError),
        with the wrong key or an altered file (GalleryError)."""
        fernet = require_key(key)
        path = Path(path)
        try:
            token = path.read_bytes()
        except OSError as exc:
            raise GalleryError(f"cannot read gallery {path}: {exc.strerror}") from None
        try:
            plaintext = fernet.decrypt(token)
        except InvalidToken:
            raise GalleryError(
                f"cannot decrypt gallery {path}: wrong key, or the file was altered"
            ) from None
        return cls.from_plaintext(plaintext)
