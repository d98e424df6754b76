"""Social dispatch: N approved targets over 5 fake platforms answering in 200 ms, 5 % of calls 429.

Usage: .venv/bin/python bench/social_dispatch.py [--n 2000] [--threads 50] [--accounts 100]
Target (issue 5): throughput ≥ 0.8 × (calls allowed in flight ÷ latency); 0 duplicate posts.

The whole real path runs: the concurrent dispatcher claims, post_social checks flags and the
publish gate, reads the account's encrypted token and its rate budget, commits the attempt row,
calls the LIVE adapter, and records the result (or the 429's reset, releasing the action until
then). The physical limit is what the fake platforms allow: ``threads`` calls of ``latency`` each.

Each 429 says the account has nothing left until its reset (X and Bluesky name a whole Unix
second, so 1–2 s ahead): the account's later posts wait for it. Facebook's is a page's throttle
(#32), like the other platforms' per-account 429s; #4, the whole app's, would hold every page.
The run's tail (the last 5 % of the posts) is printed apart: it is mostly those waits.
With ``--processes N`` the workers start paused and the clock starts once they all polled.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _setup import machine_busy, ratio_line, setup

HERE = Path(__file__).resolve().parent
PLATFORMS = ("x", "linkedin", "facebook", "bluesky", "mastodon")


def account_id(platform: str, i: int) -> str:
    return {"x": str(10_000 + i), "linkedin": f"urn:li:organization:{i}", "facebook": str(1000 + i),
            "bluesky": f"did:plc:bench{i}", "mastodon": str(i)}[platform]  # fmt: skip


def fill(n: int, accounts: int) -> None:
    """Accounts, an approved running LIVE campaign, N scheduled targets with their due actions (bulk)."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from campaigns import services as campaign_services
    from campaigns.controls import control_set
    from campaigns.models import Action, Campaign
    from publishing.models import Post, PublishTarget, SocialAccount
    from publishing.services import publish_action_key

    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE campaigns_actionlog, campaigns_action, campaigns_auditentry, publishing_publishtarget, "
            "publishing_post, publishing_socialaccount, publishing_ratebudget, campaigns_campaign, "
            "campaigns_controlflag, campaigns_event, campaigns_eventdedupe RESTART IDENTITY CASCADE"
        )
    users = get_user_model().objects
    owner = users.filter(username="bench-owner").first() or users.create_user("bench-owner", password="x")
    boss = users.filter(username="bench-boss").first() or users.create_superuser("bench-boss", password="x")
    campaign = Campaign.objects.create(name="bench", slug="bench", owner=owner, channels=list(PLATFORMS),
                                       strategy="bench", mode="live")  # fmt: skip
    campaign_services.campaign_submit(campaign=campaign, actor=owner)
    campaign_services.campaign_approve(campaign=campaign, actor=boss)
    campaign_services.campaign_start(campaign=campaign, actor=boss)
    control_set(action="live", actor="bench")
    made = [
        SocialAccount(
            platform=PLATFORMS[i % 5],
            handle=f"bench{i}",
            external_id=account_id(PLATFORMS[i % 5], i),
            access_token=f"token-{i}",
        )
        for i in range(accounts)
    ]
    made = SocialAccount.objects.bulk_create(made)
    now = timezone.now()
    posts = []
    for i in range(n):
        post = Post(campaign=campaign, author=owner, title=f"b{i}", body=f"Bench post {i} of {n}",
                    status=Post.Status.SCHEDULED, approved_by=boss, approved_at=now, approval_seq=1)  # fmt: skip
        post.content_sha256 = post.approved_sha256 = post.compute_sha256()
        posts.append(post)
    posts = Post.objects.bulk_create(posts, batch_size=1000)
    targets = PublishTarget.objects.bulk_create(
        [
            PublishTarget(post=p, account=made[i % accounts], status="scheduled", due_at=now)
            for i, p in enumerate(posts)
        ],
        batch_size=1000,
    )
    Action.objects.bulk_create(
        [
            Action(
                idempotency_key=publish_action_key(t),
                action_type="post_social",
                payload={"target_id": t.pk},
                campaign=campaign,
                max_attempts=5,
                not_before=now,
            )
            for t in targets
        ],
        batch_size=1000,
    )
    with connection.cursor() as cur:
        cur.execute("ANALYZE")


def run_workers(args: argparse.Namespace) -> tuple[float, float, float, float]:
    """N worker processes (manage.py dispatch_concurrent) sharing the calls in flight. They start
    paused and the clock starts when they are all connected: their start-up is not dispatch time."""
    from campaigns.controls import control_set
    from campaigns.models import Heartbeat
    from publishing.models import PublishTarget

    control_set(action="pause", actor="bench")
    share = args.threads // args.processes
    command = [sys.executable, str(HERE.parent / "manage.py"), "dispatch_concurrent", "--threads", str(share),
               "--per-account", str(args.per_account), "--batch-size", str(args.batch_size // args.processes or 2 * share),
               "--lanes", str(args.lanes), "--sleep", "0.02"]  # fmt: skip
    workers = [
        subprocess.Popen([*command, "--worker-id", f"bench-{i}"], stdout=subprocess.DEVNULL)
        for i in range(args.processes)
    ]
    try:
        seen: set[str] = set()  # each worker's drain beats first, even while paused (it then claims nothing)
        while len(seen) < args.processes:
            seen.update(Heartbeat.objects.filter(name="dispatcher").values_list("worker", flat=True))
            time.sleep(0.002)
        started = time.perf_counter(), time.process_time(), machine_busy(), time.time()
        control_set(action="resume", actor="bench")
        while PublishTarget.objects.filter(status="published").count() < args.n:
            time.sleep(0.02)
            if time.perf_counter() - started[0] > args.max_seconds:
                break
        return started
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=50)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--per-account", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--rate-429", type=float, default=0.05)
    parser.add_argument("--reset", type=float, default=1.0)
    parser.add_argument("--max-seconds", type=float, default=600)
    parser.add_argument("--processes", type=int, default=1, help="worker processes sharing --threads")
    parser.add_argument("--batch-size", type=int, default=0, help="actions claimed at once (default: 2 × threads)")
    parser.add_argument("--lanes", type=int, default=4, help="overlapping claim/run/record loops per process")
    args = parser.parse_args()

    fake = subprocess.Popen([sys.executable, str(HERE / "_fake_platforms.py"), str(args.latency), str(args.rate_429),
                             str(args.reset)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        run(args, fake)
    finally:
        if fake.poll() is None:
            fake.kill()


def run(args: argparse.Namespace, fake: subprocess.Popen) -> None:
    ports = dict(zip(PLATFORMS, fake.stdout.readline().split(), strict=True))
    base = {p: f"http://127.0.0.1:{port}" for p, port in ports.items()}
    os.environ.update({
        "PUBLISHING_MODE": "live", "X_API_BASE_URL": base["x"], "LINKEDIN_API_BASE_URL": base["linkedin"],
        "GRAPH_API_BASE_URL": base["facebook"], "BLUESKY_PDS_URL": base["bluesky"], "MASTODON_BASE_URL": base["mastodon"],
        "HTTP_TIMEOUT_SECONDS": "10", "LOGGING_LEVEL": "WARNING",
    })  # fmt: skip
    setup("cas_h4_bench")
    import logging

    logging.disable(logging.WARNING)
    from campaigns.models import Action
    from publishing.models import PublishTarget
    from publishing.worker import ConcurrentDispatcher

    fill(args.n, args.accounts)
    if args.processes == 1:
        started, cpu_started, machine_started = time.perf_counter(), time.process_time(), machine_busy()
        wall_started = time.time()
        with ConcurrentDispatcher(threads=args.threads, per_account=args.per_account, worker_id="bench", lanes=args.lanes,
                                  batch_size=args.batch_size or 2 * args.threads) as dispatcher:  # fmt: skip
            while PublishTarget.objects.filter(status="published").count() < args.n:
                if not dispatcher.drain().claimed:
                    time.sleep(0.02)  # released actions wait for their platform's reset
                if time.perf_counter() - started > args.max_seconds:
                    break
    else:
        started, cpu_started, machine_started, wall_started = run_workers(args)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    machine = machine_busy() - machine_started
    fake.stdin.close()
    counts = json.loads(fake.stdout.readline())
    fake.wait(10)

    published = PublishTarget.objects.filter(status="published").count()
    duplicates = sum(n - 1 for n in counts["posts"].values() if n > 1)
    stuck = Action.objects.exclude(status="succeeded").count()
    rate, limit = published / elapsed, args.threads / args.latency
    print(f"social_dispatch: {args.n:,} targets over 5 fake platforms ({args.accounts} accounts, ≤{args.per_account} "
          f"per account), latency {args.latency * 1000:.0f} ms, {args.rate_429:.0%} of calls 429 "
          f"(reset in {args.reset:.0f} s), {args.threads} calls allowed in flight")  # fmt: skip
    print(f"  published {published:,} in {elapsed:.2f} s; platform calls {counts['calls']:,} of which 429 "
          f"{counts['429']:,}; peak in flight at the fakes {counts['peak']}; {args.processes} worker process(es)")  # fmt: skip
    print(f"  duplicate posts at the fakes: {duplicates}; actions not succeeded: {stuck}")
    print(
        f"  CPU while draining: the machine {machine:.1f} s of {(os.cpu_count() or 1) * elapsed:.1f} core-seconds "
        f"({1000 * machine / max(published, 1):.1f} ms per post); the fake platforms {counts['cpu']:.1f} s"
    )
    if args.processes == 1:
        print(
            f"  dispatcher process CPU: {cpu:.1f} s = {1000 * cpu / max(published, 1):.1f} ms per post "
            f"({cpu / elapsed:.0%} of one core)"
        )
    accepted = sorted(t - wall_started for t in counts["accepted_at"])
    if len(accepted) >= 20:  # the bulk, and the tail where the last posts wait out their accounts' resets
        bulk = accepted[int(0.95 * len(accepted)) - 1]
        print(f"  first 95 % of the posts accepted in {bulk:.2f} s ({0.95 * len(accepted) / bulk / limit:.2f}× the "
              f"limit's pace); the last 5 % took {accepted[-1] - bulk:.2f} s more")  # fmt: skip
    print("  " + ratio_line("throughput", rate, limit, "posts/s", "≥ 0.8"))


if __name__ == "__main__":
    main()
