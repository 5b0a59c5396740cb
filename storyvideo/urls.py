from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from accounts.views import SignInView, SignupView
from core import media
from projects import urls as projects_urls
from shots import urls as shots_urls
from storyvideo import aliases, auth_api, metrics, standard_api, system_api
from tasks import urls as tasks_urls

# /api/v1/: the system's own routes, then each app's.
api_v1 = [
    path("health", system_api.HealthApi.as_view(), name="health"),
    path("system", system_api.SystemApi.as_view(), name="system"),
    path("models", system_api.ModelsApi.as_view(), name="models"),
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
    *projects_urls.api_urlpatterns,
    *shots_urls.urlpatterns,
    *tasks_urls.urlpatterns,
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularRedocView.as_view(url_name="schema"), name="docs"),
]

handler404 = "core.api.not_found"
handler500 = "core.api.server_error"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", RedirectView.as_view(pattern_name="project-list-page", permanent=False)),
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/signup/", SignupView.as_view(), name="signup"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    *projects_urls.page_urlpatterns,
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
