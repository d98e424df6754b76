"""A NUL in the query string is a 400 naming the query on every URL, never a database error."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/admin/campaigns/campaign/?q=%00",  # the changelist search
        "/admin/outreach/lead/?status__exact=a%00b",  # a changelist filter
        "/admin/review/reviewitem/calendar/?platform=%00",
        "/admin/review/reviewitem/?kind=%00",
        "/api/v1/campaigns/?status=%00",
        "/health/?x=%00",
    ],
)
def test_a_nul_in_the_query_string_is_a_400_naming_the_query(admin_client, url):
    response = admin_client.get(url)
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert (body["code"], body["detail"]) == ("validation", "query: NUL characters are not allowed")
    assert body["errors"] == [{"field": "query", "message": "NUL characters are not allowed"}]


def test_a_query_without_nul_goes_through(admin_client):
    assert admin_client.get("/admin/campaigns/campaign/?q=spring").status_code == 200
