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
        from storyvideo import access

        register_handlers()
        access.register(
            access.Rules(visible=selectors.visible_project_ids, role_of=selectors.role_of, owner_of=selectors.owner_of)
        )
        film.register(
            film.Film(
                project_get=selectors.project_get,
                project_lock=selectors.project_lock,
                shots_regenerate=pipeline.shots_regenerate,
                project_recompose_if_rendered=pipeline.project_recompose_if_rendered,
            )
        )
