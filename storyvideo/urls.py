from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from core import media
from projects import api as projects_api
from projects import views as project_views
from shots import api as shots_api
from storyvideo import aliases, auth_api, metrics, standard_api, system_api
from tasks import api as tasks_api

api_v1 = [
    path("health", system_api.HealthApi.as_view(), name="health"),
    path("system", system_api.SystemApi.as_view(), name="system"),
    path("voices", system_api.VoicesApi.as_view(), name="voices"),
    path("voices/preview", system_api.VoicePreviewApi.as_view(), name="voice-preview"),
    path("workers", system_api.WorkersApi.as_view(), name="workers"),
    path("auth/token", system_api.TokenApi.as_view(), name="auth-token"),
    path("auth/signup", system_api.SignupApi.as_view(), name="auth-signup"),
    path("auth/jwt/register", auth_api.JwtRegisterApi.as_view(), name="auth-jwt-register"),
    path("auth/jwt", auth_api.JwtLoginApi.as_view(), name="auth-jwt"),
    path("auth/jwt/refresh", auth_api.JwtRefreshApi.as_view(), name="auth-jwt-refresh"),
    path("auth/jwt/logout", auth_api.JwtLogoutApi.as_view(), name="auth-jwt-logout"),
    path("auth/ws-ticket", auth_api.WsTicketApi.as_view(), name="auth-ws-ticket"),
    path("projects", projects_api.ProjectListApi.as_view(), name="project-list"),
    path("projects/<uuid:project_id>", projects_api.ProjectDetailApi.as_view(), name="project-detail"),
    path("projects/<uuid:project_id>/storyboard", projects_api.StoryboardApi.as_view(), name="project-storyboard"),
    path("stories/draft", projects_api.StoryDraftApi.as_view(), name="story-draft"),
    path(
        "projects/<uuid:project_id>/storyboard/start",
        projects_api.StoryboardStartApi.as_view(),
        name="project-storyboard-start",
    ),
    path(
        "projects/<uuid:project_id>/storyboard/refine",
        projects_api.StoryboardRefineApi.as_view(),
        name="project-storyboard-refine",
    ),
    path(
        "projects/<uuid:project_id>/storyboard/snapshots",
        projects_api.SnapshotListApi.as_view(),
        name="project-snapshots",
    ),
    path(
        "projects/<uuid:project_id>/storyboard/snapshots/<uuid:snapshot_id>/restore",
        projects_api.SnapshotRestoreApi.as_view(),
        name="project-snapshot-restore",
    ),
    path("projects/import", projects_api.ProjectImportApi.as_view(), name="project-import"),
    path("projects/batch", projects_api.ProjectBatchApi.as_view(), name="project-batch"),
    path("projects/<uuid:project_id>/render", projects_api.ProjectRenderApi.as_view(), name="project-render"),
    path("projects/<uuid:project_id>/duplicate", projects_api.ProjectDuplicateApi.as_view(), name="project-duplicate"),
    path("projects/<uuid:project_id>/translate", projects_api.ProjectTranslateApi.as_view(), name="project-translate"),
    path("projects/<uuid:project_id>/music", projects_api.ProjectMusicApi.as_view(), name="project-music"),
    path("projects/<uuid:project_id>/webhook", projects_api.ProjectWebhookApi.as_view(), name="project-webhook"),
    path(
        "projects/<uuid:project_id>/exports/<str:fmt>", projects_api.ProjectExportApi.as_view(), name="project-export"
    ),
    path("projects/<uuid:project_id>/members", projects_api.MemberListApi.as_view(), name="project-members"),
    path(
        "projects/<uuid:project_id>/members/<int:user_id>",
        projects_api.MemberDetailApi.as_view(),
        name="project-member",
    ),
    path("projects/<uuid:project_id>/links", projects_api.ShareLinkListApi.as_view(), name="project-links"),
    path(
        "projects/<uuid:project_id>/links/<uuid:link_id>",
        projects_api.ShareLinkDetailApi.as_view(),
        name="project-link",
    ),
    path("shared/<str:token>", projects_api.SharedFilmApi.as_view(), name="shared-film"),
    path("projects/<uuid:project_id>/shots", shots_api.ShotListApi.as_view(), name="shot-list"),
    path("projects/<uuid:project_id>/shots/reorder", shots_api.ShotReorderApi.as_view(), name="shot-reorder"),
    path("projects/<uuid:project_id>/characters", projects_api.CharacterListApi.as_view(), name="character-list"),
    path("shots/<uuid:shot_id>", shots_api.ShotDetailApi.as_view(), name="shot-detail"),
    path("shots/<uuid:shot_id>/generate", shots_api.ShotGenerateApi.as_view(), name="shot-generate"),
    path("shots/<uuid:shot_id>/media", projects_api.ShotMediaApi.as_view(), name="shot-media"),
    path("shots/<uuid:shot_id>/versions", shots_api.ShotVersionListApi.as_view(), name="shot-versions"),
    path("shots/<uuid:shot_id>/refine", projects_api.ShotRefineApi.as_view(), name="shot-refine"),
    path(
        "projects/<uuid:project_id>/conversation", projects_api.ConversationApi.as_view(), name="project-conversation"
    ),
    path(
        "shots/<uuid:shot_id>/versions/<uuid:version_id>/restore",
        shots_api.ShotVersionRestoreApi.as_view(),
        name="shot-version-restore",
    ),
    path("characters/<uuid:character_id>", projects_api.CharacterDetailApi.as_view(), name="character-detail"),
    path("tasks", tasks_api.TaskListApi.as_view(), name="task-list"),
    path("usage", projects_api.UsageApi.as_view(), name="usage"),
    path("projects/<uuid:project_id>/usage", projects_api.ProjectUsageApi.as_view(), name="project-usage"),
    path("tasks/<uuid:task_id>", tasks_api.TaskDetailApi.as_view(), name="task-detail"),
    path("tasks/<uuid:task_id>/cancel", tasks_api.TaskCancelApi.as_view(), name="task-cancel"),
    path("tasks/<uuid:task_id>/retry", tasks_api.TaskRetryApi.as_view(), name="task-retry"),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularRedocView.as_view(url_name="schema"), name="docs"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("", RedirectView.as_view(pattern_name="project-list-page", permanent=False)),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("projects/", project_views.project_list_page, name="project-list-page"),
    path("projects/new/", project_views.project_new_page, name="project-new-page"),
    path("projects/new/idea/", project_views.project_idea_page, name="project-idea-page"),
    path("projects/<uuid:project_id>/", project_views.project_editor_page, name="project-editor-page"),
    path("projects/<uuid:project_id>/preview/", project_views.project_preview_page, name="project-preview-page"),
    path("projects/<uuid:project_id>/duplicate/", project_views.project_duplicate_page, name="project-duplicate-page"),
    path("projects/<uuid:project_id>/delete/", project_views.project_delete_page, name="project-delete-page"),
    path("projects/<uuid:project_id>/sharing/", project_views.project_sharing_page, name="project-sharing-page"),
    path("watch/<str:token>/", project_views.watch_page, name="watch-page"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("api/v1/", include(api_v1)),
    path("api/", include(aliases.urlpatterns)),
    path("v1/api/", include(standard_api.urlpatterns)),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/rq/", include("django_rq.urls")),
    path("admin/", admin.site.urls),
]
if settings.STORAGES["default"]["BACKEND"].endswith("FileSystemStorage"):  # type: ignore[index]
    # Media from local disk, each URL signed and expiring (storyvideo/media.py).
    urlpatterns.append(re_path(r"^media/(?P<path>.+)$", media.serve, name="media"))
