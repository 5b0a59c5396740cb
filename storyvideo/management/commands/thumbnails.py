"""``manage.py thumbnails``: make the thumbnails that pictures stored before them lack."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from core.storage import thumbnails_make_missing


class Command(BaseCommand):
    help = "Make the missing thumbnail of every stored picture (after an upgrade; local disk makes them as asked)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Made {thumbnails_make_missing()} thumbnails.")
