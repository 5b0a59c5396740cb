from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShotsConfig(AppConfig):
    name = "shots"
    verbose_name = _("Shots")
    default_auto_field = "django.db.models.BigAutoField"
