from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register what the film does into the layers below it: the task engine's handlers,
        and what an edit of a shot sets off."""
        from projects import pipeline, selectors
        from projects.handlers import register_handlers
        from shots import film

        register_handlers()
        film.register(
            film.Film(
                project_get=selectors.project_get,
                project_lock=selectors.project_lock,
                shots_regenerate=pipeline.shots_regenerate,
                project_recompose_if_rendered=pipeline.project_recompose_if_rendered,
            )
        )
