"""The gallery without models: vectorised matching against a brute force, and encryption."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from faces.gallery import ENCODING_DIM, ConsentRequired, Gallery, GalleryEntry, GalleryError
from faces.keys import KEY_CREDENTIAL, KEY_ENV, GalleryKeyError, gallery_key, new_key


def random_entries(
    count: int, *, seed: int = 7, rows: tuple[int, int] = (1, 4)
) -> list[GalleryEntry]:
    rng = np.random.default_rng(seed)
    entries = []
    for index in range(count):
        k = int(rng.integers(rows[0], rows[1] + 1))
        vectors = rng.normal(0.0, 0.09, size=(k, ENCODING_DIM)).astype(np.float32)
        entries.append(GalleryEntry(f"p{index:05d}", f"consent-{index}", vectors))
    return entries


def brute_force(entries: list[GalleryEntry], probe: np.ndarray) -> list[tuple[str, float]]:
    """Best distance per person, the slow obvious way, sorted."""
    per_person = [
        (e.person, float(np.linalg.norm(e.encodings.astype(np.float64) - probe, axis=1).min()))
        for e in entries
    ]
    return sorted(per_person, key=lambda item: item[1])


@pytest.fixture(scope="module")
def entries() -> list[GalleryEntry]:
    return random_entries(300)


@pytest.fixture(scope="module")
def gallery(entries: list[GalleryEntry]) -> Gallery:
    return Gallery(entries)


def test_match_equals_brute_force(entries: list[GalleryEntry], gallery: Gallery) -> None:
    rng = np.random.default_rng(1)
    # probes near enrolled encodings (the usual case) and random ones (strangers)
    near = [e.encodings[0] + rng.normal(0, 0.01, ENCODING_DIM) for e in entries[::37]]
    far = list(rng.normal(0, 0.09, size=(5, ENCODING_DIM)))
    probes = np.array(near + far, dtype=np.float32)
    for probe, ranked in zip(probes, gallery.match(probes), strict=True):
        expected = brute_force(entries, probe.astype(np.float64))
        assert ranked.best is not None and ranked.second is not None
        assert (ranked.best.person, ranked.second.person) == (expected[0][0], expected[1][0])
        assert ranked.best.distance == pytest.approx(expected[0][1], abs=1e-6)
        assert ranked.second.distance == pytest.approx(expected[1][1], abs=1e-6)


def test_second_best_is_another_person_not_another_photo() -> None:
    base = np.zeros(ENCODING_DIM, dtype=np.float32)
    # two photos of a, nearly equal, and one of b further away
    a = GalleryEntry("a", "c", np.array([base, base + 0.001], dtype=np.float32))
    b = GalleryEntry("b", "c", np.array([base + 0.05], dtype=np.float32))
    ranked = Gallery([a, b]).match(base)[0]
    assert ranked.best is not None and ranked.best.person == "a"
    assert ranked.second is not None and ranked.second.person == "b"


def test_small_galleries() -> None:
    empty = Gallery().match(np.zeros(ENCODING_DIM, dtype=np.float32))
    assert [(r.best, r.second) for r in empty] == [(None, None)]
    ranked = Gallery().match(np.zeros((2, ENCODING_DIM)))
    assert [(r.best, r.second) for r in ranked] == [(None, None), (None, None)]
    one = Gallery([GalleryEntry("solo", "c", np.ones((2, ENCODING_DIM), dtype=np.float32))])
    only = one.match(np.ones(ENCODING_DIM))[0]
    assert only.best is not None and only.best.person == "solo" and only.second is None


def test_distance_to_reads_only_that_person(entries: list[GalleryEntry], gallery: Gallery) -> None:
    probe = entries[3].encodings[0]
    own = gallery.distance_to(entries[3].person, probe)
    assert own is not None and own[0] == pytest.approx(0.0, abs=1e-6)
    other = gallery.distance_to(entries[4].person, probe)
    assert other is not None
    assert other[0] == pytest.approx(brute_force([entries[4]], probe.astype(np.float64))[0][1])
    assert gallery.distance_to("nobody", probe) is None


def test_plus_replaces_and_without_removes(entries: list[GalleryEntry]) -> None:
    small = Gallery(entries[:3])
    fresh = np.zeros(ENCODING_DIM, dtype=np.float32)
    replaced = small.plus(GalleryEntry(entries[0].person, "new consent", fresh))
    assert len(replaced) == 3
    assert replaced.rows == small.rows - len(entries[0].encodings) + 1
    entry = replaced.entry(entries[0].person)
    assert entry is not None and entry.consent == "new consent"
    removed = replaced.without(entries[1].person)
    assert entries[1].person not in removed and len(removed) == 2


@pytest.mark.parametrize("consent", ["", "   "])
def test_entry_without_consent_is_refused(consent: str) -> None:
    with pytest.raises(ConsentRequired, match="consent"):
        GalleryEntry("pupil", consent, np.zeros(ENCODING_DIM, dtype=np.float32))


@pytest.mark.parametrize(
    "shape", [(ENCODING_DIM + 1,), (2, 64), (0, ENCODING_DIM), (2, 2, ENCODING_DIM)]
)
def test_entry_shape_is_checked(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="encoding"):
        GalleryEntry("pupil", "c", np.zeros(shape, dtype=np.float32))


def test_duplicate_person_is_refused(entries: list[GalleryEntry]) -> None:
    with pytest.raises(GalleryError, match="twice"):
        Gallery([entries[0], entries[0]])


# -- encryption at rest -----------------------------------------------------------------


def test_round_trip(tmp_path: Path, entries: list[GalleryEntry], gallery: Gallery) -> None:
    key = new_key()
    path = tmp_path / "gallery.bin"
    gallery.save(path, key)
    assert path.stat().st_mode & 0o777 == 0o600
    data = path.read_bytes()
    # nothing readable in the file: no person ids, no consent references, no raw floats
    assert b"p00001" not in data and b"consent" not in data
    assert entries[0].encodings.tobytes()[:32] not in data
    loaded = Gallery.load(path, key)
    assert loaded.persons == gallery.persons
    for original in entries:
        copy = loaded.entry(original.person)
        assert copy is not None and copy.consent == original.consent
        assert np.array_equal(copy.encodings, original.encodings)
    probe = entries[10].encodings[0]
    assert loaded.match(probe)[0] == gallery.match(probe)[0]


def test_wrong_key_is_refused(tmp_path: Path, gallery: Gallery) -> None:
    path = tmp_path / "gallery.bin"
    gallery.save(path, new_key())
    with pytest.raises(GalleryError, match="wrong key, or the file was altered"):
        Gallery.load(path, new_key())


@pytest.mark.parametrize("where", [0.1, 0.5, 0.99])
def test_tampered_file_is_refused(tmp_path: Path, gallery: Gallery, where: float) -> None:
    key = new_key()
    path = tmp_path / "gallery.bin"
    gallery.save(path, key)
    data = bytearray(path.read_bytes())
    index = int(len(data) * where)
    # Fernet tokens are base64 text: swap one character for another valid one
    data[index] = ord("A") if data[index] != ord("A") else ord("B")
    path.write_bytes(bytes(data))
    with pytest.raises(GalleryError, match="wrong key, or the file was altered"):
        Gallery.load(path, key)


def test_truncated_file_is_refused(tmp_path: Path, gallery: Gallery) -> None:
    key = new_key()
    path = tmp_path / "gallery.bin"
    gallery.save(path, key)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(GalleryError):
        Gallery.load(path, key)


def test_no_key_is_refused_with_a_clear_message(
    tmp_path: Path, gallery: Gallery, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    path = tmp_path / "gallery.bin"
    with pytest.raises(GalleryKeyError, match=f"no gallery key: set {KEY_ENV}"):
        gallery.save(path)
    assert not path.exists()
    gallery.save(path, new_key())
    with pytest.raises(GalleryKeyError, match="LoadCredential=gallery_key"):
        Gallery.load(path)


def test_not_a_key_is_refused(tmp_path: Path, gallery: Gallery) -> None:
    with pytest.raises(GalleryKeyError, match="not a Fernet key"):
        gallery.save(tmp_path / "g.bin", b"correct horse battery staple")


def test_key_from_environment_then_credentials(
    tmp_path: Path, gallery: Gallery, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_key, file_key = new_key(), new_key()
    (tmp_path / KEY_CREDENTIAL).write_bytes(file_key + b"\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    monkeypatch.delenv(KEY_ENV, raising=False)
    assert gallery_key() == file_key
    path = tmp_path / "gallery.bin"
    gallery.save(path)
    assert Gallery.load(path, file_key).persons == gallery.persons
    monkeypatch.setenv(KEY_ENV, env_key.decode())
    assert gallery_key() == env_key  # the environment wins
    with pytest.raises(GalleryError):
        Gallery.load(path)


def test_save_is_atomic(tmp_path: Path, gallery: Gallery) -> None:
    key = new_key()
    path = tmp_path / "gallery.bin"
    gallery.save(path, key)
    before = path.read_bytes()
    with pytest.raises(GalleryKeyError):
        Gallery([]).save(path, b"bad")
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["gallery.bin"]


def test_plaintext_format_checks() -> None:
    with pytest.raises(GalleryError, match="not a smartschool gallery"):
        Gallery.from_plaintext(b"hello")
    data = Gallery(random_entries(3)).to_plaintext()
    with pytest.raises(GalleryError, match="does not match"):
        Gallery.from_plaintext(data + b"\0\0\0\0")
