"""The production profile, as deployed: `runstack --production` (deploy checks,
collectstatic, gunicorn, a Celery worker and beat) on PostgreSQL and Redis,
behind Debian's nginx with a self-signed certificate. Chromium logs in, reviews
one item and downloads an export; the HTTPS redirect, secure cookies and the
nginx internal redirect for files are exercised on the way."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from review.models import Assignment, Review
from tests.fixtures.builders import (
    PASSWORD,
    make_accepted_item,
    make_batch,
    make_reviewable_item,
    make_user,
)
from tests.fixtures.services import REPO, database_url_for_workers, need

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

NGINX_CONF = """
{user}
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {root}/nginx-access.log;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    types {{ application/json json; application/zip zip; text/html html; }}
    client_max_body_size 100m;
    server {{
        listen 127.0.0.1:{https} ssl;
        server_name localhost;
        ssl_certificate {root}/cert.pem;
        ssl_certificate_key {root}/key.pem;
        location / {{
            proxy_pass http://127.0.0.1:{app};
            proxy_set_header Host $host:$server_port;
            proxy_set_header X-Forwarded-Proto https;
            proxy_set_header X-Forwarded-For $remote_addr;
        }}
        location /protected-media/ {{
            internal;
            alias {media}/;
        }}
    }}
    server {{
        listen 127.0.0.1:{http};
        location / {{
            proxy_pass http://127.0.0.1:{app};
            proxy_set_header Host localhost:{https};
            proxy_set_header X-Forwarded-Proto http;
        }}
    }}
}}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, log: Path, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the stack exited early:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url, verify=False, timeout=2).status_code == 200:  # noqa: S501
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} never answered:\n{log.read_text()[-4000:]}")


def _password_user(username: str, role: str):
    """An account whose password the production settings' hasher can check."""
    user = make_user(username, role=role)
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, secrets.token_hex(8))
    user.save(update_fields=["password"])
    return user


@pytest.fixture
def stack(tmp_path, private_redis):
    need(connection.vendor == "postgresql", "the production profile needs PostgreSQL")
    need(shutil.which("nginx") is not None, "nginx is not installed")
    need(shutil.which("openssl") is not None, "openssl is not installed")
    private_redis.start()
    root = tmp_path / "nginx"
    root.mkdir()
    subprocess.run(  # noqa: S603 - fixed arguments
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(root / "key.pem"),
            "-out",
            str(root / "cert.pem"),
        ],  # fmt: skip
        check=True,
        capture_output=True,
    )
    app, https, http = _free_port(), _free_port(), _free_port()
    media = Path(settings.MEDIA_ROOT)
    media.mkdir(parents=True, exist_ok=True)
    # The e2e session lifts Django's async guard for itself; a deployment
    # must not inherit that (check --deploy refuses it).
    inherited = {
        k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env = {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "medsyn_app.settings",
        "MEDSYN_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "localhost,127.0.0.1",
        "CSRF_TRUSTED_ORIGINS": f"https://localhost:{https}",
        "DATABASE_URL": database_url_for_workers(),
        "CELERY_BROKER_URL": private_redis.url,
        "MEDIA_ROOT": str(media),
        "STATIC_ROOT": str(tmp_path / "static"),
        "MEDSYN_VAR_DIR": str(tmp_path / "var"),
        "MEDSYN_ACCEL_REDIRECT_PREFIX": "/protected-media/",
        # A short HSTS: the throwaway browser context forgets it anyway.
        "SECURE_HSTS_SECONDS": "60",
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "stack.log"
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [
                sys.executable,
                "manage.py",
                "runstack",
                "--production",
                "--host",
                "127.0.0.1",
                "--port",
                str(app),
                "--web-workers",
                "2",
            ],  # fmt: skip
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    user = "user root;" if os.geteuid() == 0 else ""
    (root / "nginx.conf").write_text(
        NGINX_CONF.format(
            user=user, root=root, https=https, http=http, app=app, media=media
        )
    )
    nginx = subprocess.Popen(  # noqa: S603 - fixed arguments
        ["nginx", "-c", str(root / "nginx.conf"), "-p", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(f"https://localhost:{https}/healthz", process, log)
        yield {
            "https": f"https://localhost:{https}",
            "http": f"http://localhost:{http}",
        }
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        if process.poll() is None:
            os.killpg(process.pid, 15)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)


def _context(browser):
    context = browser.new_context(
        ignore_https_errors=True, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    return context, page, violations


def _log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Overview')")


def test_login_review_and_export_download_behind_nginx(browser, stack, tmp_path):
    reviewer = _password_user("bob", "reviewer")
    _password_user("alice", "admin")
    item = make_reviewable_item(make_batch("Production batch"))
    Assignment.objects.create(item=item, reviewer=reviewer)
    for paper in range(3):
        make_accepted_item(document=f"PMC{paper:06d}", image_seed=paper)

    context, page, violations = _context(browser)
    # Plain HTTP is sent to HTTPS by the app (SECURE_SSL_REDIRECT behind nginx).
    page.goto(f"{stack['http']}/accounts/login/")
    assert page.url.startswith(f"{stack['https']}/accounts/login/")
    _log_in(page, stack["https"], "bob")
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["sessionid"]["secure"] and cookies["sessionid"]["httpOnly"]
    assert cookies["csrftoken"]["secure"]
    page.goto(f"{stack['https']}/review/")
    page.wait_for_selector(f'#item-card[data-item-id="{item.pk}"]')
    page.keyboard.press("a")
    deadline = time.monotonic() + 20
    while not Review.objects.filter(item=item, reviewer=reviewer).exists():
        assert time.monotonic() < deadline, "the decision was never saved"
        time.sleep(0.2)
    assert Review.objects.get(item=item).decision == "accept"
    context.close()

    context, page, more = _context(browser)
    violations += more
    _log_in(page, stack["https"], "alice")
    page.goto(f"{stack['https']}/exports/")
    page.fill("#id_name", "Production export")
    page.click("form:has(#id_name) button[type=submit]")
    page.wait_for_selector("h2:has-text('Status: Done')", timeout=90_000)
    with page.expect_download() as download:
        page.click("a[href$='/files/manifest.json']")
    manifest = json.loads(Path(download.value.path()).read_text())
    assert manifest["counts"]["rows"]["train"] >= 1
    # The file came from nginx's internal location, after Django's check:
    # gunicorn answered with an empty body, and nginx sent the bytes.
    access = (tmp_path / "nginx" / "nginx-access.log").read_text()
    assert '/files/manifest.json HTTP/1.1" 200' in access
    gunicorn = (tmp_path / "stack.log").read_text()
    assert re.search(r'/files/manifest\.json HTTP/1\.0" 200 0 ', gunicorn)
    with page.expect_download() as archive:
        page.click("a:has-text('Download all (.zip)')")
    assert Path(archive.value.path()).read_bytes()[:2] == b"PK"
    context.close()
    assert violations == []
