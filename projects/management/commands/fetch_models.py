"""Download the weights the configured back ends need, with progress bars.

python manage.py fetch_models                 # every configured stage (motion included)
python manage.py fetch_models --check         # say what is on disk, download nothing
python manage.py fetch_models piper:zh_CN-huayan-medium diffusers:stabilityai/sd-turbo
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.engines import configured_specs, image_prompt
from inference.models import hub_offline
from inference.registry import MODEL_NOTES, Spec, parse_any_spec, parse_spec


class Command(BaseCommand):
    help = "Download the model weights of the configured back ends (or of the specs given)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("specs", nargs="*", help="stage back end specs, e.g. diffusers:stabilityai/sd-turbo")
        parser.add_argument("--check", action="store_true", help="only say what is on disk")

    def handle(self, *args: Any, **options: Any) -> None:
        specs = [self._parse(text) for text in options["specs"]] or [
            parse_spec(stage, text) for stage, text in configured_specs().items()
        ]
        models_dir: Path = settings.MODELS_DIR
        # an IP-Adapter's repository holds many: only its weight file and image encoder are fetched
        adapters = {f"diffusers:{p.model}": p for p in (image_prompt("fast"), image_prompt("quality")) if p}
        wanted = []
        for spec in specs:
            if not spec.impl.has_weights:
                self.stdout.write(f"{spec}: nothing to download")
                continue
            here = spec.impl.weights_on_disk(spec.model, models_dir)
            if here:
                self.stdout.write(self.style.SUCCESS(f"{spec}: on disk ({here})"))
            else:
                note = MODEL_NOTES.get(spec.model)
                self.stdout.write(f"{spec}: not on disk" + (f" ({note})" if note else ""))
                wanted.append(spec)
        if options["check"] or not wanted:
            return
        if hub_offline():
            raise CommandError(
                "HF_HUB_OFFLINE is set, so nothing can be downloaded: unset it on a machine that reaches "
                "huggingface.co, or copy the model folders into MODELS_DIR (" + str(models_dir) + ")."
            )
        for spec in wanted:
            note = MODEL_NOTES.get(spec.model)
            if note:  # its size and licence, read before the download starts
                self.stdout.write(self.style.WARNING(f"{spec.model}: {note}"))
            self.stdout.write(f"Downloading {spec} …")
            try:
                adapter = adapters.get(str(spec))
                where = adapter.fetch() if adapter else spec.impl.fetch(spec.model, models_dir)
            except Exception as exc:  # the hub's errors are many; all mean "not fetched"
                raise CommandError(
                    f"Could not download {spec}: {type(exc).__name__}: {str(exc)[:300]}\n"
                    "Check the network (and HF_TOKEN for gated models), or copy the weights into "
                    f"{models_dir} by hand. The draft back end runs meanwhile."
                ) from None
            self.stdout.write(self.style.SUCCESS(f"{spec}: ready in {where}"))

    def _parse(self, text: str) -> Spec:
        try:
            return parse_any_spec(text)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
