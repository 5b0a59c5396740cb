from typing import Any

from django.db import migrations, models


def seeds_as_painted(apps: Any, schema_editor: Any) -> None:
    """A shot with characters was painted with its first character's seed: its seed says so now."""
    Shot = apps.get_model("shots", "Shot")
    for shot in Shot.objects.filter(characters__isnull=False).distinct().iterator():
        first = shot.characters.order_by("created_at", "name").first()
        if first is not None and shot.seed != first.seed:
            Shot.objects.filter(pk=shot.pk).update(seed=first.seed)


class Migration(migrations.Migration):
    dependencies = [
        ("shots", "0008_media_links_scoped"),
        ("projects", "0013_media_links_scoped"),
    ]

    operations = [
        migrations.AddField(
            model_name="shot",
            name="seed_pinned",
            field=models.BooleanField(default=False, help_text="A new picture keeps the seed (else it draws one)."),
        ),
        migrations.RunPython(seeds_as_painted, migrations.RunPython.noop),
    ]
