"""The gallery key, from the environment or a systemd credential, never from YAML."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet

KEY_ENV = "SMARTSCHOOL_GALLERY_KEY"
# Unit file: LoadCredential=gallery_key:/etc/smartschool/gallery_key
KEY_CREDENTIAL = "gallery_key"

MISSING_KEY_HELP = (
    f"no gallery key: set {KEY_ENV}, or give the service a systemd credential "
    f"(LoadCredential={KEY_CREDENTIAL}:/etc/smartschool/{KEY_CREDENTIAL}); "
    "`smartschool faces keygen` makes one. The gallery holds biometric data "
    "(sensitive personal data under Decree 13/2023) and is never read or written unencrypted."
)


class GalleryKeyError(Exception):
    """No key, or a value that is not a key."""


def new_key() -> bytes:
    return Fernet.generate_key()


def gallery_key() -> bytes | None:
    """The key: the environment wins, then ``$CREDENTIALS_DIRECTORY/gallery_key``.

    The credential file keeps the key out of ``/proc/<pid>/environ`` and unit files;
    the environment is for containers and development.
    """
    value = os.environ.get(KEY_ENV, "").strip()
    if value:
        return value.encode("ascii")
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if directory:
        path = Path(directory) / KEY_CREDENTIAL
        if path.is_file():
            return path.read_bytes().strip()
    return None


def require_key(key: bytes | str | None = None) -> Fernet:
    """A Fernet for ``key``, or for :func:`gallery_key` when ``key`` is None."""
    if key is None:
        key = gallery_key()
    if not key:
        raise GalleryKeyError(MISSING_KEY_HELP)
    try:
        return Fernet(key)
    except (ValueError, TypeError):
        raise GalleryKeyError(
            "the gallery key is not a Fernet key (32 bytes, url-safe base64); "
            "`smartschool faces keygen` makes one"
        ) from None
