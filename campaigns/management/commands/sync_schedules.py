from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django_q.models import Schedule

MANAGED_PREFIX = "auto:"


class Command(BaseCommand):
    help = "Make django-q2's schedules equal to the ones declared in config/schedules.py."

    def handle(self, *args, **options) -> None:
        declared = {s["name"]: s for s in settings.SCHEDULES}
        created = updated = 0
        with transaction.atomic():
            for name, spec in declared.items():
                fields = {k: v for k, v in spec.items() if k != "name"}
                schedule = Schedule.objects.filter(name=name).first()
                if schedule is None:
                    Schedule.objects.create(name=name, **fields)
                    created += 1
                elif any(getattr(schedule, k) != v for k, v in fields.items()):
                    for k, v in fields.items():
                        setattr(schedule, k, v)
                    schedule.save()
                    updated += 1
            deleted, _ = Schedule.objects.filter(name__startswith=MANAGED_PREFIX).exclude(name__in=declared).delete()
        self.stdout.write(
            f"schedules: {created} created, {updated} updated, {deleted} deleted, {len(declared)} declared"
        )
