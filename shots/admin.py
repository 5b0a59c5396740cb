from django.contrib import admin
from django.http import HttpRequest

from shots.models import Shot, ShotVersion


class ShotVersionInline(admin.TabularInline):
    """A shot's kept results; restoring one is the editor's or the API's (it reruns what it makes
    stale), so here they are only shown."""

    model = ShotVersion
    fields = readonly_fields = ("stage", "number", "file", "source", "restored_from", "created_at")
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Shot | None = None) -> bool:
        return False


@admin.register(Shot)
class ShotAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "project",
        "order",
        "shot_size",
        "camera_angle",
        "camera",
        "transition",
        "approved",
        "image_source",
        "speech_source",
    ]
    list_filter = ["approved", "shot_size", "camera_angle", "camera", "transition"]
    search_fields = ["prompt", "narration", "project__title"]
    raw_id_fields = ["project"]
    filter_horizontal = ["characters"]
    inlines = [ShotVersionInline]
