"""``manage.py restore FILE [--replace]``: load a backup made by ``manage.py backup``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ApplicationError
from storyvideo.backup import backup_restore


class Command(BaseCommand):
    help = "Restore a backup (database and media) made by `manage.py backup`."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--replace", action="store_true", help="Empty this installation's database first (its projects are lost)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            manifest = backup_restore(options["file"], replace=options["replace"])
        except ApplicationError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Restored {manifest['rows']} rows and {manifest['files']} files made {manifest['madeAt']}.")
