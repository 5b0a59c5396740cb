from django.urls import path

from tasks.consumers import ProjectConsumer, TaskConsumer

websocket_urlpatterns = [
    path("ws/projects/<uuid:project_id>/", ProjectConsumer.as_asgi()),
    path("tasks/<uuid:task_id>/wss", TaskConsumer.as_asgi()),  # the standard contract's
]
