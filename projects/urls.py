"""The film's routes: its REST API, gathered from the feature modules of ``projects/api/``, and
its pages."""

from django.urls import URLPattern, path

from projects import views
from projects.api import (
    characters,
    check,
    conversation,
    exports,
    own_media,
    projects,
    prompts,
    sharing,
    storyboard,
    translation,
    usage,
    webhooks,
)

api_urlpatterns: list[URLPattern] = [
    *projects.urlpatterns,
    *storyboard.urlpatterns,
    *conversation.urlpatterns,
    *characters.urlpatterns,
    *own_media.urlpatterns,
    *exports.urlpatterns,
    *sharing.urlpatterns,
    *webhooks.urlpatterns,
    *translation.urlpatterns,
    *usage.urlpatterns,
    *check.urlpatterns,
    *prompts.urlpatterns,
]

page_urlpatterns: list[URLPattern] = [
    path("projects/", views.project_list_page, name="project-list-page"),
    path("projects/new/", views.project_new_page, name="project-new-page"),
    path("projects/new/idea/", views.project_idea_page, name="project-idea-page"),
    path("projects/<uuid:project_id>/", views.project_editor_page, name="project-editor-page"),
    path("projects/<uuid:project_id>/preview/", views.project_preview_page, name="project-preview-page"),
    path("projects/<uuid:project_id>/duplicate/", views.project_duplicate_page, name="project-duplicate-page"),
    path("projects/<uuid:project_id>/delete/", views.project_delete_page, name="project-delete-page"),
    path("projects/<uuid:project_id>/sharing/", views.project_sharing_page, name="project-sharing-page"),
    path("watch/<str:token>/", views.watch_page, name="watch-page"),
    path("gallery/", views.gallery_page, name="gallery-page"),
]
