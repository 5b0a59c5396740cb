"""Media on local disk: signed, expiring URLs, and serving them safely.

A stored file's name is its content hash, so a name alone must not open it: ``/media/`` serves a
file only with a signature made from the name and an expiry time by this installation's secret
key. Pages and the API hand out such URLs (through the storage's ``url()``); expiry times are
rounded up to the hour, so a file's URL stays the same for an hour and browsers keep it cached.
Each file is served with a content type chosen from its extension (an allowlist; anything else is
a download), ``nosniff``, and a policy that runs nothing, so a file can never act as a page of
this origin.
"""

from __future__ import annotations

import hmac
import math
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.crypto import salted_hmac

from core.access import project_access

_SALT = "core.media"

# What a stored file may be served as; the storage only ever writes these extensions.
INLINE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".mp4": "video/mp4",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".flac": "audio/flac",
    ".mka": "audio/x-matroska",
    ".vtt": "text/vtt; charset=utf-8",
}
DOWNLOAD_TYPES = {
    ".srt": "application/x-subrip; charset=utf-8",
    ".otio": "application/json",
}
SANDBOX = "default-src 'none'; sandbox"


def _signature(name: str, expires: int, scope: str = "") -> str:
    message = f"{name}\n{expires}" + (f"\n{scope}" if scope else "")
    return salted_hmac(_SALT, message, algorithm="sha256").hexdigest()[:32]


def media_url_epoch(now: float | None = None) -> int:
    """The expiry every URL signed now carries: it moves on once an hour (or per TTL when
    shorter), so URLs, and pages and ETags that hold them, stay the same in between."""
    step = min(3600, settings.MEDIA_URL_TTL_S)
    return int(math.ceil(((now or time.time()) + settings.MEDIA_URL_TTL_S) / step) * step)


def sign(name: str, *, scope: str = "", now: float | None = None) -> str:
    """``e=<expiry>&s=<signature>`` for a stored name; valid for MEDIA_URL_TTL_S at least. With a
    ``scope`` (a project's id and the generation of its media links, ``<id>.<n>``), also
    ``p=<scope>``: the URL dies at once when the project's generation moves on (a member removed,
    a share link revoked), not at its expiry."""
    expires = media_url_epoch(now)
    signed = f"e={expires}&s={_signature(name, expires, scope)}"
    return f"p={scope}&{signed}" if scope else signed


def signature_ok(name: str, expires: str, signature: str, scope: str = "") -> bool:
    if not expires.isdigit() or int(expires) < time.time():
        return False
    if not hmac.compare_digest(_signature(name, int(expires), scope), signature):
        return False
    if scope:
        project_id, _, generation = scope.rpartition(".")
        return generation.isdigit() and project_access().media_generation(project_id) == int(generation)
    return True


class SignedFileSystemStorage(FileSystemStorage):
    """Local disk whose URLs carry an expiring signature (a project's files: also its scope)."""

    def url(self, name: str | None) -> str:
        return self.scoped_url(name, "")

    def scoped_url(self, name: str | None, scope: str) -> str:
        if not name:
            raise ValueError("This file has no name.")
        return f"{settings.MEDIA_URL}{quote(name)}?{sign(name, scope=scope)}"


def serve(request: HttpRequest, path: str) -> HttpResponse | FileResponse | StreamingHttpResponse:
    """One stored file, if the URL's signature is valid and unexpired (403 otherwise)."""
    if not signature_ok(path, request.GET.get("e", ""), request.GET.get("s", ""), request.GET.get("p", "")):
        response = HttpResponse("This link is not valid or has expired; reload the page.", status=403)
        response["Content-Type"] = "text/plain; charset=utf-8"
        return _harden(response)
    root = Path(settings.MEDIA_ROOT).resolve()
    target = (root / path).resolve()
    if root in target.parents and not target.is_file():
        _thumbnail_backfill(root, path, target)
    if root not in target.parents or not target.is_file():
        raise Http404("No such file.")
    suffix = target.suffix.lower()
    content_type = INLINE_TYPES.get(suffix) or DOWNLOAD_TYPES.get(suffix) or "application/octet-stream"
    size = target.stat().st_size
    wanted = _byte_range(request.headers.get("Range", ""), size)
    if wanted is not None:  # a player seeking: only those bytes (206), or 416 where none exist
        return _harden(_partial(target, wanted, size, content_type))
    served = FileResponse(
        open(target, "rb"),  # noqa: SIM115 - closed by Django after streaming
        content_type=content_type,
        as_attachment=suffix not in INLINE_TYPES,
        filename=target.name,
    )
    served["Cache-Control"] = f"private, max-age={settings.MEDIA_URL_TTL_S}, immutable"
    served["Accept-Ranges"] = "bytes"
    return _harden(served)


def _thumbnail_backfill(root: Path, path: str, target: Path) -> None:
    """A picture stored before pictures had thumbnails gets its thumbnail at the first request
    for it (on object storage, ``manage.py thumbnails`` makes them)."""
    from core.storage import thumbnail_make, thumbnail_name

    picture_name = path.removeprefix("thumbs/").removesuffix(".webp")
    picture = (root / picture_name).resolve()
    if thumbnail_name(picture_name) == path and root in picture.parents and picture.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        thumbnail_make(picture, target)


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The one byte range a ``Range: bytes=…`` header asks for, as (first, last) within the file;
    (size, size) where it asks for none of it; None for no header, or one this does not serve
    (several ranges, another unit): the whole file then, as HTTP allows."""
    found = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header)
    if not found or not (found.group(1) or found.group(2)):
        return None
    if not found.group(1):  # the last N bytes
        return max(0, size - int(found.group(2))), size - 1
    first = int(found.group(1))
    last = min(int(found.group(2)), size - 1) if found.group(2) else size - 1
    if first >= size or last < first:
        return size, size
    return first, last


def _partial(
    target: Path, wanted: tuple[int, int], size: int, content_type: str
) -> HttpResponse | StreamingHttpResponse:
    first, last = wanted
    if first >= size:
        refused = HttpResponse(status=416)
        refused["Content-Range"] = f"bytes */{size}"
        return refused

    def chunks() -> Iterator[bytes]:  # streamed: a film's "bytes=0-" is not read into memory
        with open(target, "rb") as handle:
            handle.seek(first)
            left = last - first + 1
            while left > 0:
                chunk = handle.read(min(left, 1 << 16))
                if not chunk:
                    break
                left -= len(chunk)
                yield chunk

    response = StreamingHttpResponse(chunks(), status=206, content_type=content_type)
    response["Content-Length"] = str(last - first + 1)
    response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = f"private, max-age={settings.MEDIA_URL_TTL_S}, immutable"
    return response


def _harden(response: Any) -> Any:
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
