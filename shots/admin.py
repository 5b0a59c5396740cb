from django.contrib import admin

from shots.models import Shot


@admin.register(Shot)
class ShotAdmin(admin.ModelAdmin):
    list_display = ["__str__", "project", "order", "camera", "transition", "image_source", "speech_source"]
    list_filter = ["camera", "transition"]
    search_fields = ["prompt", "narration", "project__title"]
    raw_id_fields = ["project"]
    filter_horizontal = ["characters"]
