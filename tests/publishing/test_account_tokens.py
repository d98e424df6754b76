"""Social account tokens: encrypted at rest, rotated by a command, never shown."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from publishing.crypto import DecryptionError
from publishing.models import MastodonApp, SocialAccount
from tests.factories import AccountFactory, UserFactory

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
ACCESS = "access-token-plaintext-7f3a"
REFRESH = "refresh-token-plaintext-91c2"


def raw_columns(account: SocialAccount) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM publishing_socialaccount WHERE id = %s", [account.pk])
        return cursor.fetchone()


@pytest.fixture
def old_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]


@pytest.mark.django_db
def test_tokens_are_stored_encrypted_and_read_back_in_clear(old_key):
    account = AccountFactory(access_token=ACCESS, refresh_token=REFRESH)

    stored_access, stored_refresh = raw_columns(account)
    assert ACCESS not in stored_access and REFRESH not in stored_refresh
    assert Fernet(OLD_KEY).decrypt(stored_access.encode()).decode() == ACCESS
    fresh = SocialAccount.objects.get(pk=account.pk)
    assert (fresh.access_token, fresh.refresh_token) == (ACCESS, REFRESH)
    credentials = fresh.credentials()
    assert credentials.access_token == ACCESS
    assert ACCESS not in repr(credentials) and REFRESH not in repr(credentials)


@pytest.mark.django_db
def test_an_empty_token_stays_empty(old_key):
    account = AccountFactory(access_token="")
    assert raw_columns(account)[0] == ""
    assert SocialAccount.objects.get(pk=account.pk).access_token == ""


@pytest.mark.django_db
def test_rotation_re_encrypts_with_the_first_key_so_the_old_key_can_go(settings, old_key):
    account = AccountFactory(access_token=ACCESS, refresh_token=REFRESH)
    app = MastodonApp.objects.create(
        instance_url="https://m.example", client_id="cid", client_secret="app-secret",
        redirect_uri="https://us.example/cb", scopes="write:statuses",
    )  # fmt: skip
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]

    call_command("rotate_field_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115

    stored_access, stored_refresh = raw_columns(account)
    assert Fernet(NEW_KEY).decrypt(stored_access.encode()).decode() == ACCESS
    assert Fernet(NEW_KEY).decrypt(stored_refresh.encode()).decode() == REFRESH
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    assert SocialAccount.objects.get(pk=account.pk).access_token == ACCESS
    assert MastodonApp.objects.get(pk=app.pk).client_secret == "app-secret"


@pytest.mark.django_db
def test_rotation_with_the_old_key_already_dropped_names_the_row_and_changes_nothing(settings, old_key):
    account = AccountFactory(access_token=ACCESS)
    before = raw_columns(account)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]  # the old key removed before rotating: nothing decrypts

    with pytest.raises(CommandError, match=rf"publishing.SocialAccount id {account.pk}, field \w+_token: "
                                           "FIELD_ENCRYPTION_KEYS: no configured key"):  # fmt: skip
        call_command("rotate_field_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert raw_columns(account) == before  # rolled back: still readable once the old key is back


@pytest.mark.django_db
def test_a_dropped_key_is_a_clear_error_naming_the_variable(settings, old_key):
    account = AccountFactory(access_token=ACCESS)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(DecryptionError, match="FIELD_ENCRYPTION_KEYS"):
        SocialAccount.objects.get(pk=account.pk)


@pytest.mark.django_db
def test_the_admin_never_shows_a_token(client, old_key):
    account = AccountFactory(access_token=ACCESS, refresh_token=REFRESH)
    client.force_login(UserFactory(username="root", is_superuser=True))

    page = client.get(reverse("admin:publishing_socialaccount_change", args=[account.pk]))
    listing = client.get(reverse("admin:publishing_socialaccount_changelist"))

    assert page.status_code == listing.status_code == 200
    for response in (page, listing):
        body = response.content.decode()
        assert ACCESS not in body and REFRESH not in body
    assert "token_status" in page.content.decode() or "Token status" in page.content.decode()
