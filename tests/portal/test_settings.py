"""The production configuration: deploy checks pass, and it refuses to start half-configured."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "NUE_API_KEY": "tenant-key-for-the-deploy-check",
    "NUE_API_URL": "https://api.nue.io",
    "ALLOWED_HOSTS": "portal.example.com",
    "DATABASE_URL": "sqlite:///:memory:",
}


def manage(*args: str, **overrides: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key
        not in ("SECRET_KEY", "NUE_API_KEY", "NUE_API_URL", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    environment.update(PRODUCTION)
    environment.update(overrides)
    for key, value in overrides.items():
        if value == "":
            environment.pop(key)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_it_passes_the_deploy_check_in_production_configuration():
    result = manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_refuses_to_start_without_a_secret_key():
    result = manage("check", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_it_refuses_to_start_without_a_nue_api_key():
    result = manage("check", NUE_API_KEY="")
    assert result.returncode != 0
    assert "NUE_API_KEY" in result.stderr
