"""API throughput against the physical limit, same server (Django's threaded WSGI server) and the
same loopback load generator (wrk) for both sides.

- List: GET /api/v1/posts/?page_size=50 (token auth, throttle, cursor page, serializer) over 10,000
  campaigns × 5 posts, vs a bare Django view returning the same 50 rows from one raw SQL query with
  json.dumps. Target ≥ 0.5×; the page's query count must not depend on its size.
- Create: POST /api/v1/campaigns/ with a fresh Idempotency-Key each (validation, idempotency record,
  audit row, throttle), vs a bare DRF view doing one INSERT. Target ≥ 0.25× and p99 < 200 ms.

Usage: .venv/bin/python bench/api.py [--seconds 8] [--connections 8] [--rounds 2]   (needs wrk: apt-get install -y wrk)
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from _setup import ratio_line, setup

HERE = Path(__file__).resolve().parent
CAMPAIGNS, POSTS_PER_CAMPAIGN = 10_000, 5


def fill() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE publishing_publishtarget, publishing_post, publishing_socialaccount, campaigns_auditentry,"
            " campaigns_idempotencyrecord, campaigns_throttlewindow, campaigns_apitoken, campaigns_campaign"
            " RESTART IDENTITY CASCADE"
        )
        cur.execute(
            "INSERT INTO campaigns_campaign (name, slug, description, target_niche, service_key, target_clients,"
            " target_mrr, channels, max_emails_per_day, max_outreach_per_day, mode, strategy, timezone, objective,"
            " kpi_targets, status, strategy_approved_sha256, created_at, updated_at)"
            " SELECT 'Campaign ' || g, 'campaign-' || g, 'A campaign for benchmarks', 'founders', '', 10, 1000,"
            " '[\"mastodon\", \"linkedin\"]', 50, 100, 'proof', 'Two posts a week.', 'Europe/Berlin', 'leads', '{}',"
            " 'running', '', now(), now() FROM generate_series(1, %s) g",
            [CAMPAIGNS],
        )
        cur.execute(
            "INSERT INTO publishing_post (campaign_id, title, body, media_urls, link_url, status, content_sha256,"
            " approved_sha256, approval_seq, rejection_reason, created_at, updated_at)"
            " SELECT c, 'Post ' || c || '.' || k,"
            " 'Launch day for campaign ' || c || ': everything you need to know, in one thread. #launch https://example.com/p/' || k,"
            " '[]', 'https://example.com/p/' || c, 'scheduled', md5(c || '.' || k) || md5(k || '.' || c),"
            " md5(c || '.' || k) || md5(k || '.' || c), 1, '', now(), now()"
            " FROM generate_series(1, %s) c, generate_series(1, %s) k",
            [CAMPAIGNS, POSTS_PER_CAMPAIGN],
        )
        cur.execute(
            "INSERT INTO publishing_socialaccount (platform, handle, external_id, display_name, is_active, created_at,"
            " access_token, refresh_token, scopes, token_status, token_error, extra) VALUES"
            " ('mastodon', '@bench', '1', 'Bench', true, now(), '', '', '[]', 'healthy', '', '{}')"
        )
        cur.execute(
            "INSERT INTO publishing_publishtarget (post_id, account_id, status, platform_post_id, platform_url,"
            " published_sha256, artifact_path, artifact_sha256, last_error, generation, created_at)"
            " SELECT id, 1, 'scheduled', '', '', '', '', '', '', 0, now() FROM publishing_post"
        )
        cur.execute("ANALYZE")


def wait_port(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("bench server did not start")


def wrk(url: str, *, seconds: int, connections: int, headers: dict[str, str] | None = None,
        script: str | None = None, env: dict[str, str] | None = None) -> dict[str, float]:  # fmt: skip
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True,
                         env={**os.environ, **(env or {})}).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: .*", out)
    if bad or errors:
        sys.exit(f"{url}: {bad.group(0) if bad else ''} {errors.group(0) if errors else ''}\n{out}")
    return {"rps": rps, "p99_ms": p99_ms}


def query_counts(secret: str) -> dict[int, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    def statement(sql: str) -> bool:  # transaction control is not a query of its own
        return not sql.startswith(("BEGIN", "SAVEPOINT", "RELEASE", "COMMIT"))

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {secret}")
    counts = {}
    for size in (10, 50, 200):
        client.get(f"/api/v1/posts/?page_size={size}")  # warm (last_used_at, content types)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"/api/v1/posts/?page_size={size}")
        assert response.status_code == 200, response.content
        counts[size] = len([q for q in ctx.captured_queries if statement(q["sql"])])
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    setup()
    t0 = time.perf_counter()
    fill()
    from campaigns.apitokens import token_create

    _, secret = token_create(name="bench", scopes=["agent"], actor="bench")
    print(f"data: {CAMPAIGNS:,} campaigns, {CAMPAIGNS * POSTS_PER_CAMPAIGN:,} posts and targets "
          f"({time.perf_counter() - t0:.1f} s)")  # fmt: skip
    counts = query_counts(secret)
    print(f"queries per page (page size → queries): {counts}")
    assert len(set(counts.values())) == 1, "the page's query count depends on its size"

    port = 8765
    env = {**os.environ, "API_THROTTLE_RATE": "1000000000", "DEBUG": "false"}
    server = subprocess.Popen([sys.executable, str(HERE / "_api_server.py"), str(port)], env=env)
    try:
        wait_port(port)
        base = f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"Bearer {secret}"}
        best: dict[str, dict[str, float]] = {}

        def keep(name: str, result: dict[str, float]) -> None:
            if name not in best or result["rps"] > best[name]["rps"]:
                best[name] = result

        wrk(f"{base}/bench/bare-list/", seconds=2, connections=args.connections)  # warm both
        wrk(f"{base}/api/v1/posts/?page_size=50", seconds=2, connections=args.connections, headers=auth)
        for _ in range(args.rounds):
            keep("bare_list", wrk(f"{base}/bench/bare-list/", seconds=args.seconds, connections=args.connections))
            keep("api_list", wrk(f"{base}/api/v1/posts/?page_size=50", seconds=args.seconds,
                                 connections=args.connections, headers=auth))  # fmt: skip
            script = str(HERE / "_api_create.lua")
            keep("bare_create", wrk(f"{base}/bench/bare-create/", seconds=args.seconds, connections=args.connections,
                                    script=script, env={"BENCH_PATH": "/bench/bare-create/", "BENCH_AUTH": "",
                                                        "BENCH_TAG": f"bare{uuid.uuid4().hex[:8]}"}))  # fmt: skip
            keep("api_create", wrk(f"{base}/api/v1/campaigns/", seconds=args.seconds, connections=args.connections,
                                   script=script, env={"BENCH_PATH": "/api/v1/campaigns/",
                                                       "BENCH_AUTH": auth["Authorization"],
                                                       "BENCH_TAG": f"api{uuid.uuid4().hex[:8]}"}))  # fmt: skip
        # Latency of creates without queueing behind 8 connections: 2 connections, as an agent would.
        best["api_create_c2"] = wrk(f"{base}/api/v1/campaigns/", seconds=args.seconds, connections=2,
                                    script=str(HERE / "_api_create.lua"),
                                    env={"BENCH_PATH": "/api/v1/campaigns/", "BENCH_AUTH": auth["Authorization"],
                                         "BENCH_TAG": f"lat{uuid.uuid4().hex[:8]}"})  # fmt: skip
    finally:
        server.terminate()
        server.wait()

    for name, r in best.items():
        print(f"  {name:12s} {r['rps']:8,.0f} req/s   p99 {r['p99_ms']:6.1f} ms")
    print(ratio_line("list, page of 50", best["api_list"]["rps"], best["bare_list"]["rps"], "req/s", "≥ 0.5"))
    print(ratio_line("create with Idempotency-Key", best["api_create"]["rps"], best["bare_create"]["rps"], "req/s",
                     "≥ 0.25"))  # fmt: skip
    print(f"create p99: {best['api_create_c2']['p99_ms']:.1f} ms at 2 connections, "
          f"{best['api_create']['p99_ms']:.1f} ms at {args.connections} (target < 200 ms)")  # fmt: skip


if __name__ == "__main__":
    main()
