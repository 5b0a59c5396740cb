from django.apps import AppConfig
from django.conf import settings


class StoryVideoConfig(AppConfig):
    """The composition root: it alone knows every app, and wires them together at start-up."""

    name = "storyvideo"
    verbose_name = "StoryVideo"

    def ready(self) -> None:
        from core import access, stackchunks
        from inference.models import CACHE
        from projects.access import ProjectAccessRules
        from projects.film import ProjectFilm
        from shots import film
        from storyvideo import checks  # noqa: F401 - registers the start-up checks

        stackchunks.install()
        # The interfaces the lower layers ask through, bound to the film's implementations.
        access.bind(ProjectAccessRules())
        film.bind(ProjectFilm())
        CACHE.limit = settings.MODELS_LOADED_MAX

        if settings.EMBEDDED_REDIS:
            from core.embedded import ensure_redis

            ensure_redis(settings.VAR_DIR)
