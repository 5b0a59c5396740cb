import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storyvideo.settings")
django_asgi_app = get_asgi_application()

from django.core.signals import request_finished  # noqa: E402
from django.db import connections  # noqa: E402


def _close_the_requests_connections(**kwargs: object) -> None:
    """Django's ASGI handler runs each request on a thread of its own: a connection kept past the
    request (CONN_MAX_AGE) would outlive its thread, and a burst of requests would pile them up
    until PostgreSQL refuses more clients. So a request's connections end with it (Django's own
    advice for ASGI); the storyboard fast path keeps its few threads' connections. Only requests
    this handler serves: the test client's requests share the test's connection."""
    connections.close_all()


request_finished.connect(_close_the_requests_connections, sender=type(django_asgi_app))

from channels.auth import AuthMiddlewareStack  # noqa: E402 - needs the apps loaded
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from projects.fastpath import StoryboardReads  # noqa: E402
from storyvideo.tickets import TicketAuthMiddleware  # noqa: E402
from tasks.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": StoryboardReads(django_asgi_app),  # type: ignore[arg-type]  # Django's own ASGI typing
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(TicketAuthMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)
