"""The film's REST API, by feature: each module holds its views, the serializers only it uses, and
its routes (``urlpatterns``), which ``projects.urls`` gathers."""
