"""Leases with fencing tokens for singleton jobs (e.g. the tick producer).

Taking a lease is one conditional UPDATE that only succeeds when the lease is free or expired,
and raises the token. Every write the holder makes runs inside ``fenced(handle)``, which locks
the lease row and checks that the token is still ours: a holder that was stopped past its TTL
and resumed after someone else took over gets LeaseLost instead of writing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .models import Lease


class LeaseLost(Exception):
    pass


@dataclass(frozen=True)
class LeaseHandle:
    name: str
    holder: str
    token: int
    ttl: timedelta


def lease_acquire(*, name: str, holder: str, ttl_seconds: float) -> LeaseHandle | None:
    """Take the lease if it is free or expired; None if someone else holds it."""
    ttl = timedelta(seconds=ttl_seconds)
    Lease.objects.get_or_create(name=name)
    now = timezone.now()
    with transaction.atomic():
        taken = Lease.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__lt=now), name=name).update(
            holder=holder, token=F("token") + 1, expires_at=now + ttl, acquired_at=now
        )
        if not taken:
            return None
        token = Lease.objects.values_list("token", flat=True).get(name=name)
    return LeaseHandle(name=name, holder=holder, token=token, ttl=ttl)


def lease_renew(handle: LeaseHandle) -> None:
    """Extend the lease; LeaseLost if it expired or was taken over meanwhile."""
    now = timezone.now()
    renewed = Lease.objects.filter(
        name=handle.name, holder=handle.holder, token=handle.token, expires_at__gte=now
    ).update(expires_at=now + handle.ttl)
    if not renewed:
        raise LeaseLost(f"lease {handle.name!r} token {handle.token} is no longer held by {handle.holder}")


def lease_release(handle: LeaseHandle) -> None:
    Lease.objects.filter(name=handle.name, token=handle.token, holder=handle.holder).update(expires_at=None)


@contextmanager
def fenced(handle: LeaseHandle) -> Iterator[None]:
    """A transaction whose writes commit only if ``handle`` still holds the lease.

    The lease row stays locked until commit, so a takeover waits for this write instead of racing it.
    """
    with transaction.atomic():
        row = (
            Lease.objects.select_for_update(no_key=True)
            .filter(name=handle.name)
            .values("holder", "token", "expires_at")
            .first()
        )
        if (
            row is None
            or row["token"] != handle.token
            or row["holder"] != handle.holder
            or row["expires_at"] is None
            or row["expires_at"] < timezone.now()
        ):
            raise LeaseLost(f"lease {handle.name!r}: token {handle.token} is stale; write refused")
        yield
