"""A local stand-in for X API v2 (POST /2/tweets, GET /2/users/:id/tweets) that counts deliveries.

Answers with the platform's shapes (contracts.md 2.1). ``delay`` holds a POST after it was
recorded, to crash a client in the middle of a slow call.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeX:
    def __init__(self) -> None:
        self.tweets: list[dict] = []
        self.delay = 0.0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeX:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def deliveries(self) -> Counter:
        with self.lock:
            return Counter(t["text"] for t in self.tweets)

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                reset = int(time.time()) + 900
                self.send_header("x-rate-limit-limit", "100")
                self.send_header("x-rate-limit-remaining", "99")
                self.send_header("x-rate-limit-reset", str(reset))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                if self.path != "/2/tweets":
                    return self._json(404, {"title": "Not Found Error", "type": "about:blank", "status": 404})
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake.lock:
                    tweet = {"id": str(1_900_000_000_000_000_000 + len(fake.tweets)), "text": body["text"],
                             "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")}  # fmt: skip
                    fake.tweets.append(tweet)
                if fake.delay:
                    time.sleep(fake.delay)
                try:
                    self._json(
                        201,
                        {"data": {"id": tweet["id"], "text": tweet["text"], "edit_history_tweet_ids": [tweet["id"]]}},
                    )
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:
                if not self.path.startswith("/2/users/"):
                    return self._json(404, {"title": "Not Found Error", "type": "about:blank", "status": 404})
                with fake.lock:
                    data = list(reversed(fake.tweets))
                self._json(
                    200, {"data": data, "meta": {"result_count": len(data)}} if data else {"meta": {"result_count": 0}}
                )

        return Handler
