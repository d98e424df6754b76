"""Five fake social platforms in one process (run as a child of bench/social_dispatch.py).

Each answers its publish call after LATENCY seconds with the platform's real success shape, or,
for RATE_429 of the calls, a 429 in that platform's own rate-limit dialect with a reset RESET_S
ahead (Facebook: a page's throttle, code 32, on an HTTP 400). Every accepted post is counted by its text, so duplicates are visible.

Usage: python bench/_fake_platforms.py <latency> <rate_429> <reset_s>
Prints one line "ports x linkedin facebook bluesky mastodon" then serves; on stdin EOF prints
the JSON counts {"posts": {text: n}, "calls": n, "429": n, "peak": n, "cpu": seconds,
"accepted_at": [unix time of each accepted post]} and exits.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LATENCY, RATE_429, RESET_S = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
lock = threading.Lock()
posts: dict[str, int] = {}
stats = {"calls": 0, "429": 0, "in_flight": 0, "peak": 0}
seq = iter(range(10**12))
accepted_at: list[float] = []  # when each post was accepted (time.time()), to see the run's tail


def limited(platform: str) -> tuple[int, dict[str, str], dict]:
    reset = time.time() + RESET_S
    if platform == "x":
        return 429, {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(reset) + 1)}, {
            "title": "Too Many Requests", "type": "about:blank", "status": 429, "detail": "Too Many Requests"}  # fmt: skip
    if platform == "bluesky":
        return 429, {"RateLimit-Limit": "5000", "RateLimit-Remaining": "0", "RateLimit-Reset": str(int(reset) + 1)}, {
            "error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}  # fmt: skip
    if platform == "mastodon":
        iso = (datetime.now(UTC) + timedelta(seconds=RESET_S)).isoformat()
        return 429, {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": iso}, {
            "error": "Too many requests"}  # fmt: skip
    if platform == "linkedin":
        return 429, {"Retry-After": str(int(RESET_S))}, {"status": 429, "message": "Resource level throttle limit"}
    return 400, {"Retry-After": str(int(RESET_S))}, {  # Graph: a page's throttle is code 32, whatever the HTTP status
        "error": {"message": "(#32) Page request limit reached", "type": "OAuthException", "code": 32,
                  "is_transient": True, "fbtrace_id": "A1"}}  # fmt: skip


def ok(platform: str, n: int) -> tuple[int, dict[str, str], dict | None]:
    if platform == "x":
        reset = str(int(time.time()) + 900)
        return 201, {"x-rate-limit-limit": "100000", "x-rate-limit-remaining": "99999", "x-rate-limit-reset": reset}, {
            "data": {"id": str(1445880548472328192 + n), "text": "..."}}  # fmt: skip
    if platform == "linkedin":
        return 201, {"x-restli-id": f"urn:li:share:{7000000000000000000 + n}"}, None
    if platform == "facebook":
        return 200, {}, {"id": f"1001_{n}"}
    if platform == "bluesky":
        return 200, {}, {"uri": f"at://did:plc:bench/app.bsky.feed.post/{n}", "cid": "bafyreib2rxk3rh6kzwq"}
    return 200, {}, {"id": str(n), "url": f"https://m.example/@b/{n}"}


def text_of(platform: str, body: bytes) -> str:
    if platform == "facebook":
        from urllib.parse import parse_qs

        return parse_qs(body.decode())["message"][0]
    data = json.loads(body)
    return {"x": data.get("text"), "linkedin": data.get("commentary"), "mastodon": data.get("status"),
            "bluesky": (data.get("record") or {}).get("text")}[platform]  # fmt: skip


def handler_for(platform: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:  # Bluesky resolves no handles here; nothing else reads
            self.reply(404, {}, {"error": "NotFound"})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                stats["calls"] += 1
                stats["in_flight"] += 1
                stats["peak"] = max(stats["peak"], stats["in_flight"])
            time.sleep(LATENCY)
            if random.random() < RATE_429:
                status, headers, payload = limited(platform)
                with lock:
                    stats["429"] += 1
            else:
                text = text_of(platform, body)
                with lock:
                    posts[text] = posts.get(text, 0) + 1
                    n = next(seq)
                status, headers, payload = ok(platform, n)
            with lock:
                stats["in_flight"] -= 1
                if status < 300:
                    accepted_at.append(time.time())
            self.reply(status, headers, payload)

        def reply(self, status: int, headers: dict[str, str], payload: dict | None) -> None:
            data = json.dumps(payload).encode() if payload is not None else b""
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def main() -> None:
    servers = []
    for platform in ("x", "linkedin", "facebook", "bluesky", "mastodon"):
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(platform))
        server.daemon_threads = True
        server.request_queue_size = 256
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    print(" ".join(str(s.server_address[1]) for s in servers), flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    with lock:
        print(json.dumps({"posts": posts, "calls": stats["calls"], "429": stats["429"], "peak": stats["peak"],
                          "cpu": time.process_time(), "accepted_at": accepted_at}),
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
