from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from campaigns.apitokens import token_create
from tests.factories import reviewer


class Api:
    """An APIClient with a bearer token; ``post``/``patch`` send JSON."""

    def __init__(self, secret: str | None = None, token=None) -> None:
        self.client = APIClient()
        self.token = token
        self.secret = secret
        if secret:
            self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    def get(self, path: str, **headers):
        return self.client.get(path, headers=headers)

    def post(self, path: str, data=None, **headers):
        return self.client.post(path, data if data is not None else {}, format="json", headers=headers)

    def patch(self, path: str, data=None, **headers):
        return self.client.patch(path, data or {}, format="json", headers=headers)

    def delete(self, path: str, **headers):
        return self.client.delete(path, headers=headers)


def make_api(scopes, user=None, **kw) -> Api:
    token, secret = token_create(name=f"{'+'.join(scopes)} token", scopes=scopes, user=user, actor="test", **kw)
    return Api(secret, token)


@pytest.fixture
def agent(db) -> Api:
    return make_api(["agent"])


@pytest.fixture
def reader(db) -> Api:
    return make_api(["read"])


@pytest.fixture
def human(db) -> Api:
    """A person's reviewer token, with the approval and control-flag permissions."""
    from django.contrib.auth.models import Permission

    user = reviewer("rhea")
    user.user_permissions.add(Permission.objects.get(codename="change_controlflag"))
    from django.contrib.auth import get_user_model

    return make_api(["reviewer"], user=get_user_model().objects.get(pk=user.pk))
