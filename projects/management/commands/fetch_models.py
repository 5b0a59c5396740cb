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

from inference.models import hub_offline, local_folder
from inference.registry import Spec, parse_spec
from inference.speech import piper_voice_files
from storyvideo.engines import configured_specs

PIPER_REPO = "rhasspy/piper-voices"


def piper_voice_path(voice: str) -> str:
    """en_US-joe-medium -> en/en_US/joe/medium/en_US-joe-medium (the layout of rhasspy/piper-voices)."""
    try:
        region, name, quality = voice.split("-", 2)
    except ValueError:
        raise CommandError(f"{voice!r} is not a piper voice name such as en_US-joe-medium.") from None
    return f"{region.split('_')[0]}/{region}/{name}/{quality}/{voice}"


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
        wanted = []
        for spec in specs:
            if spec.backend not in {"transformers", "diffusers", "piper"}:
                self.stdout.write(f"{spec}: nothing to download")
                continue
            finder = piper_voice_files if spec.backend == "piper" else local_folder
            here = finder(spec.model, models_dir)
            if here:
                self.stdout.write(self.style.SUCCESS(f"{spec}: on disk ({here})"))
            else:
                self.stdout.write(f"{spec}: not on disk")
                wanted.append(spec)
        if options["check"] or not wanted:
            return
        if hub_offline():
            raise CommandError(
                "HF_HUB_OFFLINE is set, so nothing can be downloaded: unset it on a machine that reaches "
                "huggingface.co, or copy the model folders into MODELS_DIR (" + str(models_dir) + ")."
            )
        for spec in wanted:
            self.stdout.write(f"Downloading {spec} …")
            try:
                where = self._download(spec, models_dir)
            except Exception as exc:  # the hub's errors are many; all mean "not fetched"
                raise CommandError(
                    f"Could not download {spec}: {type(exc).__name__}: {str(exc)[:300]}\n"
                    "Check the network (and HF_TOKEN for gated models), or copy the weights into "
                    f"{models_dir} by hand. The draft back end runs meanwhile."
                ) from None
            self.stdout.write(self.style.SUCCESS(f"{spec}: ready in {where}"))

    def _parse(self, text: str) -> Spec:
        for stage in ("storyboard", "image", "motion", "speech"):
            try:
                return parse_spec(stage, text)
            except ValueError:
                continue
        raise CommandError(
            f"{text!r} is no back end spec (e.g. diffusers:stabilityai/sd-turbo, piper:en_US-joe-medium)."
        )

    def _download(self, spec: Spec, models_dir: Path) -> Path:
        from huggingface_hub import hf_hub_download, snapshot_download

        if spec.backend == "piper":
            folder = models_dir / "piper"
            base = piper_voice_path(spec.model)
            for suffix in (".onnx.json", ".onnx"):
                downloaded = Path(hf_hub_download(PIPER_REPO, base + suffix, local_dir=folder / "_hub"))
                downloaded.replace(folder / f"{spec.model}{suffix}")
            return folder / f"{spec.model}.onnx"
        if spec.backend == "diffusers":
            from diffusers import DiffusionPipeline

            # diffusers picks the files a pipeline needs (not every checkpoint format in the repo)
            return Path(DiffusionPipeline.download(spec.model))
        patterns = ["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja", "*.tiktoken"]
        return Path(snapshot_download(spec.model, allow_patterns=patterns))
