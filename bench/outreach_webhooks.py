"""Signed ESP webhook ingest (anymail's Mailgun tracking URL) with 10 % replays vs a bare DRF endpoint
doing one INSERT, on the same loopback server, under the same load generator, each for a fixed time.

Usage: .venv/bin/python bench/outreach_webhooks.py [--seconds 15] [--clients 8]
Target (issue 7): ≥ 0.6× the bare endpoint's rate; 0 lost events, 0 duplicate rows.
The server is Django's threaded WSGI server (the same for both); the load generator is Python
threads with keep-alive connections. Both share the machine's two cores.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from _setup import setup

DB = "cas_h2_outreach_bench"
KEY = b"bench-signing-key"
AUTH = "Basic " + base64.b64encode(b"bench:secret").decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mailgun_body(token: str) -> bytes:
    ts = str(int(time.time()))
    sig = hmac.new(KEY, f"{ts}{token}".encode(), hashlib.sha256).hexdigest()
    return json.dumps({
        "signature": {"timestamp": ts, "token": token, "signature": sig},
        "event-data": {"event": "opened", "id": token, "timestamp": time.time(), "recipient": f"{token}@example.com",
                       "message": {"headers": {"message-id": f"{token}@brand.example"}}},
    }).encode()  # fmt: skip


def load(port: int, path: str, bodies: list[bytes], seconds: float, clients: int) -> tuple[int, int, list[int]]:
    """Send bodies round-robin for ``seconds``; returns (ok, errors, indexes of bodies sent OK)."""
    deadline = time.monotonic() + seconds
    lock = threading.Lock()
    state = {"next": 0, "ok": 0, "err": 0}
    sent: list[int] = []

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < deadline:
            with lock:
                i = state["next"]
                if i >= len(bodies):
                    return
                state["next"] += 1
            try:
                conn.request("POST", path, body=bodies[i], headers={"Content-Type": "application/json",
                                                                      "Authorization": AUTH})  # fmt: skip
                response = conn.getresponse()
                response.read()
                good = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                good = False
            with lock:
                state["ok" if good else "err"] += 1
                if good:
                    sent.append(i)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return state["ok"], state["err"], sent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    setup(DB)
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("TRUNCATE outreach_espevent, campaigns_actionlog, campaigns_action RESTART IDENTITY CASCADE")
        cur.execute("DROP TABLE IF EXISTS bench_hits; CREATE TABLE bench_hits (id bigserial PRIMARY KEY, body text)")
    port = free_port()
    server = subprocess.Popen([sys.executable, str(Path(__file__).parent / "_webhook_server.py"), str(port)],
                              env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        # 10 % replays: every tenth body repeats an earlier token (an ESP retrying).
        rnd = random.Random(1)
        n = 200_000
        tokens = []
        for i in range(n):
            tokens.append(tokens[rnd.randrange(len(tokens))] if i % 10 == 9 else f"tok{i:07d}")
        bodies = [mailgun_body(t) for t in tokens]
        load(port, "/bench/bare/", bodies[:200], 1, 2)  # warm both paths
        load(port, "/anymail/mailgun/tracking/", [mailgun_body("warm")], 1, 1)
        with connection.cursor() as cur:
            cur.execute("TRUNCATE bench_hits; TRUNCATE outreach_espevent, campaigns_actionlog, campaigns_action "
                        "RESTART IDENTITY CASCADE")  # fmt: skip
        bare_ok, bare_err, _ = load(port, "/bench/bare/", bodies, args.seconds, args.clients)
        ours_ok, ours_err, sent = load(port, "/anymail/mailgun/tracking/", bodies, args.seconds, args.clients)
    finally:
        server.terminate()
        server.wait(10)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM bench_hits")
        bare_rows = cur.fetchone()[0]
        cur.execute("SELECT count(*), count(DISTINCT event_id) FROM outreach_espevent")
        rows, distinct = cur.fetchone()
        cur.execute("SELECT count(*) FROM campaigns_action WHERE action_type = 'process_esp_event'")
        actions = cur.fetchone()[0]
    unique_sent = len({tokens[i] for i in sent})
    replays = len(sent) - unique_sent
    print(f"bare DRF endpoint: {bare_ok:,} requests in {args.seconds:.0f} s ({bare_err} errors), {bare_rows:,} rows")
    print(f"anymail webhook:   {ours_ok:,} requests ({replays:,} replays) in {args.seconds:.0f} s ({ours_err} errors); "
          f"{rows:,} events stored, {actions:,} process actions")  # fmt: skip
    print(f"lost events: {unique_sent - distinct}, duplicate rows: {rows - distinct}")
    ours, limit = ours_ok / args.seconds, bare_ok / args.seconds
    print(f"webhook ingest: {ours:,.0f} req/s vs physical limit (bare DRF, one INSERT) {limit:,.0f} req/s → ratio "
          f"{ours / limit:.2f} (target ≥ 0.6)")  # fmt: skip


if __name__ == "__main__":
    main()
