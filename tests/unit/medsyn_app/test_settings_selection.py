"""Settings pick SQLite/filesystem broker by default and real services when told."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from medsyn_app.env import database_from_url, env_bool, env_int, env_secret

REPO = Path(__file__).resolve().parents[3]
PROBE = (
    "import json, django; from django.conf import settings; django.setup();"
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'],"
    "'db': str(settings.DATABASES['default']['NAME']),"
    "'broker': settings.CELERY_BROKER_URL, 'debug': settings.DEBUG,"
    "'hsts': getattr(settings, 'SECURE_HSTS_SECONDS', 0),"
    "'secure_cookie': getattr(settings, 'SESSION_COOKIE_SECURE', False)}))"
)
CLEAN = {
    k: v
    for k, v in os.environ.items()
    if k
    not in {"DATABASE_URL", "CELERY_BROKER_URL", "MEDSYN_ENV", "SECRET_KEY", "DEBUG"}
}


def probe(tmp_path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        env={
            **CLEAN,
            "MEDSYN_VAR_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "medsyn_app.settings",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_no_environment_means_sqlite_and_a_serverless_broker(tmp_path):
    result = probe(tmp_path)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["db"].startswith(str(tmp_path))
    assert values["broker"] == "filesystem://"
    # `make run` users see the app's error pages, never Django's debug pages.
    assert values["debug"] is False
    assert (tmp_path / "broker" / "queue").is_dir()


def test_developers_ask_for_debug_pages(tmp_path):
    result = probe(tmp_path, DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["debug"] is True


def test_database_and_broker_urls_select_postgres_and_redis(tmp_path):
    result = probe(
        tmp_path,
        DATABASE_URL="postgres://medsyn:s%40cret@db.example:5433/medsyn",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/3",
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["db"] == "medsyn"
    assert values["broker"] == "redis://127.0.0.1:6379/3"


def test_production_requires_a_secret_key(tmp_path):
    result = probe(tmp_path, MEDSYN_ENV="production", ALLOWED_HOSTS="medsyn.example")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_turns_debug_off_and_cookies_secure(tmp_path):
    result = probe(
        tmp_path,
        MEDSYN_ENV="production",
        SECRET_KEY="x" * 64,
        ALLOWED_HOSTS="medsyn.example",
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["debug"] is False
    assert values["secure_cookie"] is True
    assert values["hsts"] >= 31536000


def test_check_deploy_prints_no_warnings_in_production(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env={
            **CLEAN,
            "MEDSYN_VAR_DIR": str(tmp_path),
            "MEDSYN_ENV": "production",
            "SECRET_KEY": "k7#Qm2$vL9pX!rT4wZ8@nB6^cF1&hJ3*dS5(gA0)eY-uI+oP=" + "Zq9",
            "ALLOWED_HOSTS": "medsyn.example",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_database_url_parsing():
    pg = database_from_url(
        "postgresql://u:p%2Fw@h:5432/name?sslmode=require", base_dir=Path("/x")
    )
    assert (pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"], pg["NAME"]) == (
        "u",
        "p/w",
        "h",
        "5432",
        "name",
    )
    assert pg["OPTIONS"] == {"sslmode": "require"}
    assert database_from_url("sqlite:///rel.db", base_dir=Path("/x"))["NAME"] == Path(
        "/x/rel.db"
    )
    assert database_from_url("sqlite:////abs/db.sqlite3", base_dir=Path("/x"))[
        "NAME"
    ] == Path("/abs/db.sqlite3")
    with pytest.raises(ImproperlyConfigured, match="not supported"):
        database_from_url("mysql://h/db", base_dir=Path("/x"))


def test_typed_env_helpers(monkeypatch, tmp_path):
    monkeypatch.setenv("FLAG", "yes")
    assert env_bool("FLAG") is True
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG"):
        env_bool("FLAG")
    monkeypatch.setenv("COUNT", "12")
    assert env_int("COUNT", 1) == 12
    monkeypatch.setenv("COUNT", "twelve")
    with pytest.raises(ImproperlyConfigured, match="COUNT"):
        env_int("COUNT", 1)
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("TOKEN_FILE", str(secret))
    assert env_secret("TOKEN") == "from-a-file"
