"""Strict parsers for settings read from the environment.

Every parser names the variable in its error, so a bad value stops start-up with a message
a person can act on (healthchecks' settings style).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured


def secret_key_file(path: Path) -> str:
    """The key kept in ``path``, made there first if there is none. Processes that start side by
    side (a web server and its workers) all read the one key: it is written whole to a file of
    its own, readable by its owner only from the start, and linked into place only if no key is
    there yet (the first one linked wins); a file is never seen half written."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_urlsafe(50))
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another process's key is there: it stands
                os.link(draft, path)
        finally:
            draft.unlink(missing_ok=True)
    key = path.read_text().strip()
    if not key:
        raise ImproperlyConfigured(f"{path} is empty: delete it to have a new key made, or set SECRET_KEY.")
    return key


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    value = (environ if environ is not None else os.environ).get(name)
    return None if value is None else value.strip()


def env_str(name: str, default: str = "", *, environ: Mapping[str, str] | None = None) -> str:
    value = _raw(name, environ)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] | None = None) -> bool:
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use one of 1/0, true/false, yes/no, on/off.")


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    value = _raw(name, environ)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is below the minimum of {minimum}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name}={number} is above the maximum of {maximum}.")
    return number


def env_float(
    name: str,
    default: float,
    *,
    minimum: float = 0.0,
    maximum: float | None = None,
    environ: Mapping[str, str] | None = None,
) -> float:
    value = _raw(name, environ)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is below the minimum of {minimum}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name}={number} is above the maximum of {maximum}.")
    return number


def env_size(name: str, default: tuple[int, int], *, environ: Mapping[str, str] | None = None) -> tuple[int, int]:
    """WIDTHxHEIGHT in pixels (768x512), each from 16 to 8192."""
    value = _raw(name, environ)
    if value is None or value == "":
        return default
    width, _, height = value.lower().partition("x")
    if not (width.isdigit() and height.isdigit() and 16 <= int(width) <= 8192 and 16 <= int(height) <= 8192):
        raise ImproperlyConfigured(f"{name}={value!r} is not a size: write WIDTHxHEIGHT in pixels, such as 768x512.")
    return int(width), int(height)


def env_list(name: str, default: list[str], *, environ: Mapping[str, str] | None = None) -> list[str]:
    value = _raw(name, environ)
    if value is None or value == "":
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_origins(name: str, *, environ: Mapping[str, str] | None = None) -> list[str]:
    """Comma-separated origins (``https://app.example.com``, ``http://localhost:5173``): a scheme,
    a host and perhaps a port, nothing else."""
    origins = env_list(name, [], environ=environ)
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query or "@" in origin:
            raise ImproperlyConfigured(
                f"{name}: {origin!r} is not an origin; write scheme://host[:port], as https://app.example.com."
            )
    return origins


def env_choice(name: str, default: str, choices: set[str], *, environ: Mapping[str, str] | None = None) -> str:
    value = env_str(name, default, environ=environ)
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} is not one of: {', '.join(sorted(choices))}.")
    return value


def env_url(name: str, schemes: set[str], *, environ: Mapping[str, str] | None = None) -> str | None:
    """A URL whose scheme is one of ``schemes``, or None when the variable is unset."""
    value = _raw(name, environ)
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        raise ImproperlyConfigured(
            f"{name}={_redact(value)!r} must start with one of: {', '.join(s + '://' for s in sorted(schemes))}."
        )
    if parts.scheme != "unix" and parts.scheme != "sqlite" and not parts.hostname:
        raise ImproperlyConfigured(f"{name}={_redact(value)!r} has no host.")
    return value


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


PRICE_KEYS = (
    "cuda_hour",
    "cpu_hour",
    "tokens_in_million",
    "tokens_out_million",
    "image",
    "audio_minute",
    "video_minute",
)


def env_prices(name: str, *, environ: Mapping[str, str] | None = None) -> dict[str, float]:
    """A price table such as ``cuda_hour=2.5,image=0.002``: each key one of PRICE_KEYS, each
    price a number of at least 0; empty means no prices (no cost is shown)."""
    value = env_str(name, environ=environ)
    prices: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        key, _, price = item.partition("=")
        key = key.strip()
        if key not in PRICE_KEYS:
            raise ImproperlyConfigured(f"{name}: {key!r} is not one of {', '.join(PRICE_KEYS)}.")
        try:
            prices[key] = float(price)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: the price of {key} ({price!r}) is not a number.") from None
        if not prices[key] >= 0:
            raise ImproperlyConfigured(f"{name}: the price of {key} is below 0.")
    return prices
