from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """API tokens (kept hashed) and the audit log of what matters for security."""

    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.audit import listen

        listen()
