"""Issue 25, finding 12: `manage.py backup` and `restore`, proven by a round trip: a project
made, backed up, deleted (its files released), restored, and its film served again."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.tokens import token_create
from projects.models import Project
from projects.services import project_delete
from shots.models import Shot
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)  # restore empties the database and loads it


def test_a_project_backed_up_deleted_and_restored_is_served_again(rendered: Project, user: Any, tmp_path: Path) -> None:
    key = token_create(user=user)
    film, shots = (
        rendered.render_video.name,
        sorted(Shot.objects.filter(project=rendered).values_list("id", "image_file")),
    )
    archive = tmp_path / "backup.tar"
    out = io.StringIO()
    call_command("backup", str(archive), stdout=out)
    assert "Backed up" in out.getvalue()
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    assert {"db.json", "manifest.json", f"media/{film}"} <= set(names)
    assert manifest["format"] == "storyvideo-backup" and manifest["files"] >= 5

    project_delete(project=Project.objects.get(pk=rendered.pk))
    assert not Project.objects.exists()
    from django.core.files.storage import default_storage

    assert not default_storage.exists(film), "deleting released the film"

    UserFactory()  # someone else's account, made since: --replace empties the database first
    call_command("restore", str(archive), "--replace", stdout=io.StringIO())
    restored = Project.objects.get(pk=rendered.pk)
    assert restored.title == rendered.title and restored.owner.username == user.username
    assert sorted(Shot.objects.filter(project=restored).values_list("id", "image_file")) == shots
    served = Client().get(restored.render_video.url)
    assert served.status_code == 200 and served["Content-Type"] == "video/mp4"
    assert b"".join(served.streaming_content)[4:8] == b"ftyp"
    api = Client(HTTP_AUTHORIZATION=f"Token {key}")  # the restored token works: its digest came back
    assert api.get(f"/api/v1/projects/{restored.pk}").status_code == 200


def test_a_restore_over_projects_needs_replace_and_a_broken_archive_is_named(rendered: Project, tmp_path: Path) -> None:
    archive = tmp_path / "backup.tar"
    call_command("backup", str(archive), stdout=io.StringIO())
    with pytest.raises(CommandError, match="has projects: restore with --replace"):
        call_command("restore", str(archive), stdout=io.StringIO())
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all")
    with pytest.raises(CommandError, match="Not a backup that can be read"):
        call_command("restore", str(junk), "--replace", stdout=io.StringIO())
    assert Project.objects.filter(pk=rendered.pk).exists(), "a refused restore changes nothing"
