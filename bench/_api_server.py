"""Server for bench/api.py: the project's WSGI app plus the bare views, on loopback (Django's
threaded WSGI server, the same for both sides).

Usage (by the bench): python bench/_api_server.py PORT  (DATABASE_URL set by the bench)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.append(str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.servers.basehttp import WSGIRequestHandler, run  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

settings.ROOT_URLCONF = "_api_urls"
WSGIRequestHandler.log_message = lambda *a, **k: None  # type: ignore[method-assign]

if __name__ == "__main__":
    run("127.0.0.1", int(sys.argv[1]), get_wsgi_application(), ipv6=False, threading=True)
