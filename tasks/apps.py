from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class TasksConfig(AppConfig):
    name = "tasks"
    verbose_name = _("Tasks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register every app's kinds of work: each app declares them in its ``kinds`` module
        (``tasks.registry``), as the admin finds each app's ``admin`` module."""
        autodiscover_modules("kinds")
        from tasks.live import tell_sockets_of_signed_out_and_deactivated_accounts

        tell_sockets_of_signed_out_and_deactivated_accounts()
