from django.apps import AppConfig


class FaultHandlersConfig(AppConfig):
    """Registered after the projects app, so its handler replaces the real image handler."""

    name = "tests"
    label = "storyvideo_fault_handlers"

    def ready(self) -> None:
        from tests.fault_handlers import register_faulty_handlers

        register_faulty_handlers()
