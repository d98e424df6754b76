"""Start-up refuses bad configuration with a message naming the variable (real processes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "x" * 64 + "-production-like-secret-value-9f8e7d6c5b4a",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "campaigns.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/campaign_automation",
    "FIELD_ENCRYPTION_KEYS": "bXFfN2tQd0ZSc3ZZbEJ6c1Z1aUxxWmNvT1hBa2xXRWw=",
}


def manage(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DEBUG", "SECRET_KEY", "DJANGO_ENV", "DATABASE_URL", "FIELD_ENCRYPTION_KEYS")
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, "VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"DEBUG": "maybe"}, "DEBUG: 'maybe' is not a boolean"),
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL:"),
        ({"DATABASE_URL": "mysql://u@localhost/db"}, "DATABASE_URL: only postgres:// and sqlite://"),
        ({"PUBLISHING_MODE": "yolo"}, "PUBLISHING_MODE: 'yolo' is not one of proof, live"),
        ({"HTTP_TIMEOUT_SECONDS": "soon"}, "HTTP_TIMEOUT_SECONDS: 'soon' is not a number"),
        ({"DJANGO_ENV": "production", "DEBUG": "false"}, "SECRET_KEY: required when DJANGO_ENV=production"),
        ({**PRODUCTION, "FIELD_ENCRYPTION_KEYS": ""}, "FIELD_ENCRYPTION_KEYS: required when DJANGO_ENV=production"),
        ({"FIELD_ENCRYPTION_KEYS": "not-a-key"}, "FIELD_ENCRYPTION_KEYS: key 1 is not a Fernet key"),
    ],
)
def test_bad_value_stops_start_up_naming_the_variable(env, needle, tmp_path):
    result = manage("check", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert needle in result.stderr


def test_demo_secret_key_is_generated_once_into_var(tmp_path):
    show = ("shell", "--no-imports", "-c", "from django.conf import settings; print(settings.SECRET_KEY)")
    first = manage(*show, env={}, tmp_path=tmp_path)
    second = manage(*show, env={}, tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert (tmp_path / "secret_key").read_text().strip() == first.stdout.strip()
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"


def test_check_deploy_is_clean_with_production_values(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
