"""``manage.py check --deploy`` with a production environment: zero warnings, and what production must set."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def manage(args: list[str], env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "PORTAL_VAR_DIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=base | env, capture_output=True, text=True, timeout=120
    )


def production_env() -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(60),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "portal.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://portal.example.com",
        "BEHIND_PROXY": "true",
    }


def test_check_deploy_passes_with_zero_warnings(tmp_path):
    result = manage(["check", "--deploy", "--fail-level", "WARNING"], production_env(), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_must_set_its_own_field_keys(tmp_path):
    env = production_env()
    del env["FIELD_ENCRYPTION_KEYS"]
    result = manage(["check"], env, tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY is set but FIELD_ENCRYPTION_KEYS is not" in result.stderr
