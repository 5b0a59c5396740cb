import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the local admin account on first run and print its password (kept in var/admin_password)."

    def handle(self, *args: object, **options: object) -> None:
        user_model = get_user_model()
        password_file = settings.VAR_DIR / "admin_password"
        if user_model.objects.filter(is_superuser=True).exists():
            if password_file.exists():
                self.stdout.write(f"Admin account: admin / {password_file.read_text().strip()}")
            return
        password = secrets.token_urlsafe(12)
        user_model.objects.create_superuser("admin", "admin@localhost", password)
        password_file.write_text(password)
        password_file.chmod(0o600)
        self.stdout.write(self.style.SUCCESS(f"Created the admin account: admin / {password}"))
