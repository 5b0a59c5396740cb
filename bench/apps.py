from django.apps import AppConfig


class NoopHandlersConfig(AppConfig):
    name = "bench"
    label = "storyvideo_bench"

    def ready(self) -> None:
        from bench.noop_handlers import register_noop_handlers

        register_noop_handlers()
