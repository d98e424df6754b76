from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "outreach"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from anymail.signals import inbound, tracking

        from .events import on_inbound, on_tracking

        tracking.connect(on_tracking, dispatch_uid="outreach.on_tracking")
        inbound.connect(on_inbound, dispatch_uid="outreach.on_inbound")
