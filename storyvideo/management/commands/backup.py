"""``manage.py backup FILE``: the database and every stored file in one tar (``storyvideo/backup.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from storyvideo.backup import backup_write


class Command(BaseCommand):
    help = "Write a backup of the database and the media (local disk or bucket) to FILE (a tar)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        manifest = backup_write(options["file"])
        self.stdout.write(f"Backed up {manifest['rows']} rows and {manifest['files']} files to {options['file']}.")
