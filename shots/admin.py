from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from core.storage import release_on_commit
from shots.models import Picture, Shot, ShotVersion


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


@admin.register(Picture)
class PictureAdmin(admin.ModelAdmin):
    """The image studio's pictures (each person's gallery): shown; deleting one here takes it out
    of its owner's gallery and releases its file where no shot took it."""

    list_display = ["__str__", "owner", "tier", "source", "width", "height", "created_at"]
    list_filter = ["tier"]
    search_fields = ["prompt", "owner__username"]
    readonly_fields = [field.name for field in Picture._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Picture) -> None:
        super().delete_model(request, obj)
        release_on_commit([obj.file.name])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Picture]) -> None:
        names = list(queryset.values_list("file", flat=True))
        super().delete_queryset(request, queryset)
        release_on_commit(names)
