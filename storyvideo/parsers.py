"""Request parsers (their own module: DRF reads its settings, which name them, on import of its views)."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

# The production-chain document versions by media type as well as by URL: a client that sends
# ``Accept: application/vnd.api.v1+json`` (or that type as its body's) gets version 1, in that type.
VERSION_1_JSON = "application/vnd.api.v1+json"


class SafeJSONParser(JSONParser):
    """JSON nested too deeply for the parser is a bad request, not a server error."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None


class VersionOneJSONParser(SafeJSONParser):
    media_type = VERSION_1_JSON


class VersionOneJSONRenderer(JSONRenderer):
    media_type = VERSION_1_JSON
    format = "json"  # ?format=json stays JSONRenderer's (the first); no second format to document
