"""Demo data: safe to run twice (everything is looked up by a natural key before it is created)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from campaigns import services as campaign_services
from campaigns.models import Campaign
from outreach.models import CaptureForm, Lead, Mailbox, Sequence, SequenceStep, Template
from outreach.sequences import enrollment_create, template_approve, template_create, template_submit
from outreach.services import lead_upsert
from publishing import services as post_services
from publishing.models import Post, SocialAccount

DEMO_CAMPAIGN = "Spring launch (demo)"
DRAFT_CAMPAIGN = "Autumn webinar (demo)"
ACCOUNTS = [
    ("x", "@demo_brand", "1500000000000000001"),
    ("linkedin", "Demo Brand", "urn:li:organization:100001"),
    ("mastodon", "@demo@mastodon.example", "110000000000000001"),
    ("bluesky", "demo.bsky.social", "did:plc:demo000000000000000001"),
    ("facebook", "Demo Brand Page", "100000000000001"),
    ("instagram", "demo.brand", "17841400000000001"),
]
POSTS = [
    # title, body, platforms, final state
    (
        "Launch announcement",
        "We launched! Meet the new planner for small teams: https://example.com/launch",
        ["x", "linkedin", "mastodon"],
        "pending_review",
    ),
    (
        "Customer story",
        "How a 5-person agency saved 6 hours a week with shared calendars.",
        ["linkedin", "facebook"],
        "pending_review",
    ),
    ("Behind the scenes", "A look at the team that built it. #buildinpublic", ["instagram", "bluesky"], "draft"),
    ("Webinar teaser", "Join our live demo next Thursday, 17:00 CET.", ["x", "bluesky"], "rejected"),
]
LEADS = [
    ("Ada Lovelace", "ada@example.com", "Analytical Engines Ltd"),
    ("Grace Hopper", "grace@example.org", "Compilers Inc"),
    ("Alan Turing", "alan@example.net", "Bletchley Consulting"),
    ("Katherine Johnson", "katherine@example.com", "Orbital Mechanics Co"),
]


class Command(BaseCommand):
    help = "Create demo campaigns, accounts, posts in various states, leads and a reviewer account (idempotent)."

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            author, _ = self._user("demo-author", is_reviewer=False)
            reviewer, password = self._user("reviewer", is_reviewer=True)
            accounts = self._accounts()
            campaign = self._campaign(author, reviewer)
            self._posts(campaign, author, reviewer, accounts)
            self._draft_campaign(author)
            for name, email, company in LEADS:
                lead_upsert(actor="seed_demo", campaign=campaign, name=name, email=email, company=company)
            self._outreach(campaign, reviewer)
        call_command("sync_schedules", stdout=self.stdout)
        if password:
            self.stdout.write(self.style.SUCCESS(f"Reviewer login: reviewer / {password}  (shown once; "
                                                 "reset with: manage.py changepassword reviewer)"))  # fmt: skip
        else:
            self.stdout.write("Reviewer account already exists; its password was not changed.")
        self.stdout.write(f"Demo ready: {Post.objects.filter(campaign=campaign).count()} posts in {campaign.name!r}.")

    def _user(self, username: str, *, is_reviewer: bool):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user:
            return user, None
        password = secrets.token_urlsafe(12)
        user = User.objects.create_user(username=username, password=password, is_staff=True,
                                        email=f"{username}@example.com")  # fmt: skip
        group, _ = Group.objects.get_or_create(name="Reviewers" if is_reviewer else "Marketers")
        codenames = ["view_campaign", "change_campaign", "add_campaign", "view_post", "change_post", "add_post",
                     "view_reviewitem", "review", "view_publishtarget", "view_controlflag", "view_tickledger",
                     "view_action", "view_actionlog", "view_auditentry", "view_lead",
                     "view_socialaccount", "view_channelconfig", "view_template", "change_template", "add_template",
                     "view_sequence", "view_enrollment", "view_suppression", "view_reply", "view_sendattempt",
                     "view_mailbox", "view_espevent"]  # fmt: skip
        if is_reviewer:
            codenames += [
                "approve_post",
                "approve_campaign",
                "change_action",
                "approve_template",
                "change_controlflag",
                "change_publishtarget",
            ]
        group.permissions.set(Permission.objects.filter(codename__in=codenames))
        user.groups.add(group)
        return user, password

    def _accounts(self) -> dict[str, SocialAccount]:
        out = {}
        for platform, handle, external_id in ACCOUNTS:
            out[platform], _ = SocialAccount.objects.get_or_create(
                platform=platform, external_id=external_id, defaults={"handle": handle, "display_name": handle}
            )
        return out

    def _campaign(self, author, reviewer) -> Campaign:
        campaign = Campaign.objects.filter(name=DEMO_CAMPAIGN).first()
        if campaign:
            return campaign
        campaign = campaign_services.campaign_create(
            actor=author, name=DEMO_CAMPAIGN, description="Launch of the planner for small teams.",
            target_niche="agencies of 2-20 people", service_key="planner", target_clients=25, target_mrr=5000,
            channels=["email", "x", "linkedin", "instagram", "facebook", "bluesky", "mastodon"],
            strategy="Announce the launch on every channel, then share one customer story a week.",
            owner=author, timezone="Europe/Berlin", objective=Campaign.Objective.LEADS,
            kpi_targets={"leads": 100, "replies": 20}, start_date=timezone.localdate(),
        )  # fmt: skip
        campaign_services.campaign_submit(campaign=campaign, actor=author)
        campaign_services.campaign_approve(campaign=campaign, actor=reviewer)
        campaign_services.campaign_start(campaign=campaign, actor=reviewer)
        return campaign

    def _posts(self, campaign, author, reviewer, accounts) -> None:
        for title, body, platforms, state in POSTS:
            if Post.objects.filter(campaign=campaign, title=title).exists():
                continue
            post = post_services.post_create(campaign=campaign, author=author, title=title, body=body,
                                             accounts=[accounts[p] for p in platforms])  # fmt: skip
            if state in ("pending_review", "rejected"):
                post_services.post_submit(post=post, actor=author)
            if state == "rejected":
                post_services.post_reject(post=post, actor=reviewer, reason="Date not confirmed yet.")
        title = "Scheduled for tomorrow"
        if not Post.objects.filter(campaign=campaign, title=title).exists():
            post = post_services.post_create(
                campaign=campaign, author=author, title=title, accounts=[accounts["x"], accounts["mastodon"]],
                body="Tomorrow: 3 tips to plan a month of content in one hour.",
                scheduled_at=timezone.now() + timedelta(days=1),
            )  # fmt: skip
            post_services.post_submit(post=post, actor=author)
            post_services.post_approve(post=post, actor=reviewer)

    def _outreach(self, campaign, reviewer) -> None:
        """A mailbox, an approved two-step sequence with the demo leads enrolled, and a capture form."""
        Mailbox.objects.get_or_create(campaign=campaign, from_email="hello@demo-brand.example",
                                      defaults={"from_name": "Demo Brand", "daily_cap": 40, "hourly_cap": 10})  # fmt: skip
        texts = [
            ("Intro", "Planning for {{ company|your team }}", "Hi {{ first_name|there }},\n\nWe built a planner for "
             "small teams. Worth a look?\n\n{{ sender_name }}\n\nUnsubscribe: {{ unsubscribe_url }}"),
            ("Follow-up", "Re: Planning for {{ company|your team }}", "Hi {{ first_name|there }}, any thoughts?\n\n"
             "{{ sender_name }}\n\nUnsubscribe: {{ unsubscribe_url }}"),
        ]  # fmt: skip
        templates = []
        for name, subject, body in texts:
            template = Template.objects.filter(campaign=campaign, name=name).first()
            if template is None:
                template = template_create(campaign=campaign, actor="seed_demo", name=name, subject=subject,
                                           body_text=body)  # fmt: skip
                template_submit(template=template, actor="seed_demo")
                template_approve(template=template, actor=reviewer)
            templates.append(template)
        sequence, created = Sequence.objects.get_or_create(campaign=campaign, name="Launch outreach",
                                                           defaults={"send_days": [0, 1, 2, 3, 4]})  # fmt: skip
        if created:
            SequenceStep.objects.create(sequence=sequence, position=1, template=templates[0], wait_hours=0)
            SequenceStep.objects.create(sequence=sequence, position=2, template=templates[1], wait_hours=72)
        for lead in Lead.objects.filter(campaign=campaign, email__in=[e for _, e, _ in LEADS]):
            enrollment_create(lead=lead, sequence=sequence, actor="seed_demo")
        CaptureForm.objects.get_or_create(campaign=campaign, defaults={"sequence": sequence})

    def _draft_campaign(self, author) -> None:
        if not Campaign.objects.filter(name=DRAFT_CAMPAIGN).exists():
            campaign_services.campaign_create(
                actor=author, name=DRAFT_CAMPAIGN, channels=["email", "linkedin"], owner=author,
                timezone="America/New_York", objective=Campaign.Objective.AWARENESS,
                strategy="Invite agency owners to a live demo.",
            )  # fmt: skip
