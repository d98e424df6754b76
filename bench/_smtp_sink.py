"""A local aiosmtpd sink for bench/email_dispatch.py: counts messages and their Message-IDs.

Prints its port, serves until stdin closes, then prints JSON {"count": n, "unique": n, "missing_id": n}
and resets on the line "reset" (so one sink serves every contender in a run).
"""

from __future__ import annotations

import json
import re
import socket
import sys

from aiosmtpd.controller import Controller

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.IGNORECASE | re.MULTILINE)


class Sink:
    def __init__(self) -> None:
        self.count = 0
        self.ids: set[bytes] = set()
        self.missing = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        found = MESSAGE_ID.search(envelope.original_content or envelope.content)
        if found:
            self.ids.add(found.group(1))
        else:
            self.missing += 1
        return "250 2.0.0 Ok: queued"


def main() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    print(port, flush=True)
    for line in sys.stdin:
        print(json.dumps({"count": sink.count, "unique": len(sink.ids), "missing_id": sink.missing}), flush=True)
        if line.strip() == "reset":
            sink.count, sink.ids, sink.missing = 0, set(), 0
    controller.stop()


if __name__ == "__main__":
    main()
