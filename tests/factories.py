from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from campaigns.models import Campaign
from publishing.models import Post, PublishTarget, SocialAccount


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    is_staff = True
    password = factory.django.Password("pw-for-tests-1")


def reviewer(username: str = "rita") -> object:
    user = UserFactory(username=username)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=[
                "approve_post",
                "approve_campaign",
                "view_post",
                "change_post",
                "view_postreview",
                "view_action",
            ]
        )
    )
    return get_user_model().objects.get(pk=user.pk)  # fresh permission cache


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    slug = factory.Sequence(lambda n: f"campaign-{n}")
    channels = ["x", "linkedin", "mastodon", "bluesky", "facebook", "instagram", "email"]
    strategy = "Post twice a week."
    timezone = "Europe/Berlin"


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SocialAccount

    platform = "mastodon"
    handle = factory.Sequence(lambda n: f"@acct{n}")
    external_id = factory.Sequence(lambda n: f"{1000 + n}")


class PostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Post

    campaign = factory.SubFactory(CampaignFactory)
    author = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Post {n}")
    body = "Hello from the tests"
    content_sha256 = factory.LazyAttribute(lambda p: Post(body=p.body, media_urls=[], link_url="").compute_sha256())


class TargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PublishTarget

    post = factory.SubFactory(PostFactory)
    account = factory.SubFactory(AccountFactory)
