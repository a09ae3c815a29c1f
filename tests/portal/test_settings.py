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


def test_it_refuses_to_start_in_production_without_a_nue_api_url():
    result = manage("check", NUE_API_URL="")
    assert result.returncode != 0
    assert "NUE_API_URL" in result.stderr
    assert "NUE_EMULATOR_ENABLED" in result.stderr


def test_it_refuses_the_emulators_published_key_for_a_production_demo():
    result = manage(
        "check", NUE_API_URL="", NUE_EMULATOR_ENABLED="true", NUE_API_KEY="nue-emulator-dev-key"
    )
    assert result.returncode != 0
    assert "NUE_API_KEY" in result.stderr


# A path the emulator does not serve falls to its last route, which answers Nue's JSON 404.
MOUNTED = """
from django.urls import resolve
for path in ("/nue-emulator/orders", "/nue-emulator/_emulator/faults",
             "/nue-emulator/_emulator/journal"):
    name = resolve(path).url_name
    print(path, "absent" if name == "unknown-route" else name)
"""


def test_it_serves_a_production_demo_emulator_without_faults_or_journal():
    result = manage("shell", "-c", MOUNTED, NUE_API_URL="", NUE_EMULATOR_ENABLED="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-4:-1] == [
        "/nue-emulator/orders orders",
        "/nue-emulator/_emulator/faults absent",
        "/nue-emulator/_emulator/journal absent",
    ]


def test_it_warns_in_the_deploy_check_when_the_emulator_serves():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", NUE_API_URL="", NUE_EMULATOR_ENABLED="true"
    )
    assert result.returncode != 0
    assert "portal.W001" in result.stdout + result.stderr


def test_it_refuses_both_a_nue_api_url_and_the_emulator():
    result = manage("check", NUE_EMULATOR_ENABLED="true")
    assert result.returncode != 0
    assert "not both" in result.stderr
