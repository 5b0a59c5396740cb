from django.apps import AppConfig
from django.conf import settings


class StoryVideoConfig(AppConfig):
    name = "storyvideo"
    verbose_name = "StoryVideo"

    def ready(self) -> None:
        from inference.models import CACHE
        from storyvideo import checks  # noqa: F401 - registers the start-up checks

        CACHE.limit = settings.MODELS_LOADED_MAX

        if settings.EMBEDDED_REDIS:
            from storyvideo.embedded import ensure_redis

            ensure_redis(settings.VAR_DIR)
