from django.contrib import admin
from django.http import HttpRequest

from projects.models import Character, Member, Project, PromptDraft, PromptTemplate, ShareLink
from projects.usage import usage_sum
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


class MemberInline(admin.TabularInline):
    model = Member
    extra = 0
    autocomplete_fields = ["user"]


class ShareLinkInline(admin.TabularInline):
    model = ShareLink
    extra = 0
    fields = ["id", "created_by", "created_at", "revoked_at"]
    readonly_fields = ["id", "created_by", "created_at"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "language", "style", "status", "shot_count", "updated_at"]
    list_filter = ["status", "language", "style", "aspect_ratio"]
    search_fields = ["title", "story", "owner__username"]
    readonly_fields = ["id", "created_at", "updated_at", "rendered_at", "render_hash", "usage"]
    inlines = [CharacterInline, ShotInline, MemberInline, ShareLinkInline]

    @admin.display(description="What its tasks used")
    def usage(self, project: Project) -> str:
        used = usage_sum(project.tasks.all())
        cost = "" if used["cost"] is None else f"; cost {used['cost']:.4f} {used['currency']}"
        return (
            f"{used['tasks']} tasks, {used['wallSeconds']:.1f} s ({used['deviceSeconds']:.1f} s on a GPU), "
            f"{used['tokensIn']:.0f}/{used['tokensOut']:.0f} tokens, {used['images']:.0f} pictures, "
            f"{used['audioSeconds']:.1f} s of narration, {used['videoSeconds']:.1f} s of film{cost}"
        )

    date_hierarchy = "created_at"


@admin.register(Character)
class CharacterAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "seed"]
    search_fields = ["name", "description", "project__title"]


@admin.register(PromptTemplate)
class PromptTemplateAdmin(admin.ModelAdmin):
    """The prompt optimiser's template library: staff add, edit and retire templates (a template
    is checked for its parts when saved); each person's ratings rank those of a style for them."""

    list_display = ["name", "style", "text", "active", "updated_at"]
    list_filter = ["active", "style"]
    list_editable = ["active"]
    search_fields = ["name", "text"]


@admin.register(PromptDraft)
class PromptDraftAdmin(admin.ModelAdmin):
    list_display = ["__str__", "owner", "style", "backend", "rating", "created_at"]
    list_filter = ["backend", "rating"]
    search_fields = ["prompt", "result", "owner__username"]
    readonly_fields = [field.name for field in PromptDraft._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
