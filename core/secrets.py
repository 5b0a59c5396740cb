"""Secrets kept encrypted at rest: a model field whose value is stored as a Fernet token
(AES-128-CBC with an HMAC), under a key derived from SECRETS_KEY (by default the installation's
SECRET_KEY; set SECRETS_KEY to keep stored secrets when SECRET_KEY is rotated). A copy of the
database alone does not give away what the application signs with."""

from __future__ import annotations

import base64
import functools
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models

PREFIX = "fernet:"  # marks a stored value as encrypted (a value without it is from before)


@functools.cache
def _fernet(secret: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"storyvideo secrets at rest").derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(value: str) -> str:
    return PREFIX + _fernet(settings.SECRETS_KEY).encrypt(value.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored  # written before encryption (the migration encrypts these)
    try:
        return _fernet(settings.SECRETS_KEY).decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        raise ValueError(
            "A stored secret cannot be decrypted: SECRETS_KEY (or SECRET_KEY) is not the one it was written with."
        ) from None


class EncryptedCharField(models.TextField):
    """A text value encrypted in the database and plain in Python; empty stays empty."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return decrypt(value) if value else value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return encrypt(value) if value else value
