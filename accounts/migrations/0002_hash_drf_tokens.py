"""DRF's tokens were kept as the keys themselves: each becomes an ApiToken kept as its SHA-256
(so it goes on working), and DRF's rows are deleted."""

import hashlib

from django.db import migrations


def hash_tokens(apps, schema_editor):
    Token = apps.get_model("authtoken", "Token")
    ApiToken = apps.get_model("accounts", "ApiToken")
    for token in Token.objects.all():
        kept = ApiToken.objects.create(
            user_id=token.user_id,
            prefix=token.key[:8],
            digest=hashlib.sha256(token.key.encode()).hexdigest(),
        )
        ApiToken.objects.filter(pk=kept.pk).update(created_at=token.created)
    Token.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]

    operations = [migrations.RunPython(hash_tokens, migrations.RunPython.noop)]
