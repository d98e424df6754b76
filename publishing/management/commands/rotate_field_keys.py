"""Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS (key rotation)."""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from publishing.crypto import DecryptionError, EncryptedTextField, rotate


def encrypted_fields() -> list[tuple[type, tuple[str, ...]]]:
    """(model, its EncryptedTextField names) for every installed model: secrets of any app (social
    tokens, IMAP passwords…) rotate without this command knowing them. Raw ciphertext is read and
    written, so no secret is ever decoded to text here."""
    found = []
    for model in apps.get_models():
        names = tuple(f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField))
        if names and not model._meta.proxy:
            found.append((model, names))
    return found


def _rotated(model: type, pk: object, field: str, token: str | None) -> str:
    try:
        return rotate(token or "")
    except DecryptionError as exc:  # the whole model's rotation rolls back; models done before it stay done
        raise CommandError(f"{model._meta.label} id {pk}, field {field}: {exc}") from None


class Command(BaseCommand):
    help = "Re-encrypt stored tokens with the first FIELD_ENCRYPTION_KEYS key; then old keys can be dropped."

    def handle(self, *args, **options) -> None:
        total = 0
        for model, fields in encrypted_fields():
            table = model._meta.db_table
            columns = ", ".join(model._meta.get_field(f).column for f in fields)
            lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SELECT id, {columns} FROM {table}{lock}")  # noqa: S608 (names from _meta)
                rows = cursor.fetchall()
                sets = ", ".join(f"{model._meta.get_field(f).column} = %s" for f in fields)
                for pk, *tokens in rows:
                    cursor.execute(
                        f"UPDATE {table} SET {sets} WHERE id = %s",  # noqa: S608
                        [_rotated(model, pk, name, t) for name, t in zip(fields, tokens, strict=True)] + [pk],
                    )
            total += len(rows)
            self.stdout.write(f"{model._meta.label}: {len(rows)} row(s) re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"done: {total} row(s) now use the first key"))
