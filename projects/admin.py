from django.contrib import admin

from projects.models import Character, Project
from shots.models import Shot


class ShotInline(admin.StackedInline):
    model = Shot
    extra = 0
    ordering = ["order"]
    fields = [
        "order",
        "prompt",
        "narration",
        "camera",
        "transition",
        "pinned_duration",
        "seed",
        "image_file",
        "image_source",
        "speech_file",
        "speech_source",
    ]
    readonly_fields = ["image_source", "speech_source"]
    show_change_link = True


class CharacterInline(admin.TabularInline):
    model = Character
    extra = 0
    fields = ["name", "description", "seed", "voice"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "language", "style", "status", "shot_count", "updated_at"]
    list_filter = ["status", "language", "style", "aspect_ratio"]
    search_fields = ["title", "story", "owner__username"]
    readonly_fields = ["id", "created_at", "updated_at", "rendered_at", "render_hash"]
    inlines = [CharacterInline, ShotInline]
    date_hierarchy = "created_at"


@admin.register(Character)
class CharacterAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "seed"]
    search_fields = ["name", "description", "project__title"]
