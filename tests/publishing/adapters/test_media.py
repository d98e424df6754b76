"""Images end to end: fetched from media_urls, uploaded before the post, named by the post.

One local fake serves both the image bytes and the platform; the answers are the platforms'
documented shapes (Mastodon's from the examples in its OpenAPI document).
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import zlib
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from publishing.adapters.base import (
    Credentials,
    OutcomeUnknownError,
    PermanentError,
    PublishRequest,
    RetryAfterError,
)
from publishing.adapters.bluesky import MAX_IMAGE_BYTES as BLUESKY_MAX_BYTES
from publishing.adapters.bluesky import BlueskyAdapter
from publishing.adapters.facebook import FacebookAdapter
from publishing.adapters.linkedin import LinkedInAdapter
from publishing.adapters.mastodon import MastodonAdapter
from publishing.adapters.media import Image, ImageRule, blob_cid, fetch_image, placeholder_id, sniff, url_violations
from publishing.adapters.proof import proof_publish
from publishing.adapters.registry import get_adapter
from publishing.adapters.x import MAX_IMAGE_BYTES as X_MAX_BYTES
from publishing.adapters.x import XAdapter

from .specs import (
    bluesky_lexicon,
    check_bluesky_create,
    check_mastodon_media_upload,
    check_meta_form,
    mastodon_create_status_validator,
    mastodon_example,
    x_create_post_validator,
    x_media_upload_validator,
    x_schema_validator,
)


def png(width: int = 1, height: int = 1, padding: int = 0) -> bytes:
    """A valid PNG; ``padding`` bytes of an ancillary chunk make it as large as a test needs."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height)))
    extra = chunk(b"tEXt", b"c\x00" + b"x" * padding) if padding else b""
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + extra + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


PNG_BYTES = png(2, 2)
WEBP_BYTES = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
SVG_BYTES = b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def serve_image(httpserver: HTTPServer, path: str, content: bytes, content_type: str = "image/png") -> str:
    httpserver.expect_request(path, method="GET").respond_with_data(content, content_type=content_type)
    return httpserver.url_for(path)


def posted(httpserver: HTTPServer) -> list[tuple[str, str]]:
    """(method, path) of every request the fake saw, in order."""
    return [(request.method, request.path) for request, _ in httpserver.log]


def _request(platform: str, credentials: Credentials, *media_urls: str, text: str = "Look at this") -> PublishRequest:
    return PublishRequest(
        platform=platform, text=text, credentials=credentials, idempotency_key="post_social:7", media_urls=media_urls
    )


# --- the fetch helper ---------------------------------------------------------------------------

RULE = ImageRule("Test", 2, 1000)


def test_sniff_knows_the_four_image_types():
    assert sniff(PNG_BYTES) == "image/png"
    assert sniff(b"\xff\xd8\xff\xe0\x00\x10JFIF") == "image/jpeg"
    assert sniff(b"GIF89a\x01\x00") == "image/gif"
    assert sniff(WEBP_BYTES) == "image/webp"
    assert sniff(SVG_BYTES) == ""


def test_blob_cid_is_the_cidv1_raw_sha256_a_pds_computes():
    # The well-known CID of the empty raw block.
    assert blob_cid(b"") == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


def test_the_fakes_x_upload_answer_matches_the_openapi_response_schema():
    x_schema_validator("MediaUploadResponse").validate(x_upload_answer())


def test_url_violations_count_and_scheme_only():
    assert url_violations(["https://cdn.example/a.png", "http://cdn.example/b.jpg"], RULE) == []
    assert url_violations(["https://a/1", "https://a/2", "https://a/3"], RULE) == [
        "media_urls: 3 images, Test allows 2"
    ]
    assert url_violations(["ftp://cdn.example/a.png", "/relative.png"], RULE) == [
        "media_urls[0]: 'ftp://cdn.example/a.png' is not an http(s) URL",
        "media_urls[1]: '/relative.png' is not an http(s) URL",
    ]
    assert url_violations(["https://a/1"], RULE, attached=2) == ["media_urls + media_ids: 3 images, Test allows 2"]


def test_fetch_image_reads_the_bytes_and_takes_the_type_from_them(httpserver: HTTPServer, base_url):
    # A server that calls its PNG octet-stream still serves a PNG.
    url = serve_image(httpserver, "/a", PNG_BYTES, "application/octet-stream")

    image = fetch_image(XAdapter().client, url, RULE)

    assert (image.mime_type, image.content, image.size) == ("image/png", PNG_BYTES, len(PNG_BYTES))
    assert image.sha256 == hashlib.sha256(PNG_BYTES).hexdigest()
    [(sent, _)] = httpserver.log
    assert "Authorization" not in sent.headers  # the platform token never goes to the image host


def test_fetch_image_over_the_cap_names_the_limit(httpserver: HTTPServer, base_url):
    url = serve_image(httpserver, "/big", png(padding=2000))
    with pytest.raises(PermanentError, match=r"media_urls\[0\]: \d+ bytes, Test allows 1000 bytes per image"):
        fetch_image(XAdapter().client, url, RULE)


def test_fetch_image_of_a_type_the_platform_refuses_names_the_allowed_types(httpserver: HTTPServer, base_url):
    url = serve_image(httpserver, "/logo.svg", SVG_BYTES, "image/svg+xml")
    with pytest.raises(PermanentError, match=r"type image/svg[+]xml, Test allows image/jpeg, image/png, image/gif"):
        fetch_image(XAdapter().client, url, RULE)


def test_a_declared_type_the_bytes_do_not_bear_out_is_refused(httpserver: HTTPServer, base_url):
    url = serve_image(httpserver, "/fake.png", b"<html>not found</html>", "image/png")
    with pytest.raises(PermanentError, match=r"type unknown \(declared image/png\)"):
        fetch_image(XAdapter().client, url, RULE)


def test_a_missing_image_is_permanent_and_a_5xx_is_retried(httpserver: HTTPServer, base_url):
    httpserver.expect_request("/gone.png").respond_with_data("no", status=404)
    httpserver.expect_request("/busy.png").respond_with_data("busy", status=503, headers={"Retry-After": "12"})

    with pytest.raises(PermanentError, match="HTTP 404, the image is not available"):
        fetch_image(XAdapter().client, httpserver.url_for("/gone.png"), RULE)
    with pytest.raises(RetryAfterError) as caught:
        fetch_image(XAdapter().client, httpserver.url_for("/busy.png"), RULE)
    assert caught.value.retry_after == 12


# --- X ------------------------------------------------------------------------------------------

X_CREDENTIALS = Credentials(account_id="2244994945", access_token="user-token", handle="acme")
X_MEDIA_ID = "1880028106020515840"


def x_upload_answer(media_id: str = X_MEDIA_ID, size: int = len(PNG_BYTES)) -> dict:
    return {
        "data": {
            "id": media_id,
            "media_key": f"3_{media_id}",
            "size": size,
            "expires_after_secs": 86400,
            "image": {"image_type": "image/png", "w": 2, "h": 2},
        }
    }


def test_x_uploads_each_image_then_posts_with_their_media_ids(httpserver: HTTPServer, base_url):
    first = serve_image(httpserver, "/img/a.png", PNG_BYTES)
    second = serve_image(httpserver, "/img/b.webp", WEBP_BYTES, "image/webp")
    answers = iter([x_upload_answer(), x_upload_answer("1880028106020515841", len(WEBP_BYTES))])
    httpserver.expect_request("/2/media/upload", method="POST").respond_with_handler(
        lambda request: Response(json.dumps(next(answers)), status=200, content_type="application/json")
    )
    httpserver.expect_request("/2/tweets", method="POST").respond_with_json(
        {"data": {"id": "1445880548472328192", "text": "Look at this"}}, status=201
    )

    result = XAdapter().publish(_request("x", X_CREDENTIALS, first, second))

    assert result.platform_post_id == "1445880548472328192"
    # Every image is fetched and checked before the first upload.
    assert posted(httpserver) == [
        ("GET", "/img/a.png"),
        ("GET", "/img/b.webp"),
        ("POST", "/2/media/upload"),
        ("POST", "/2/media/upload"),
        ("POST", "/2/tweets"),
    ]
    upload = httpserver.log[2][0]
    assert upload.headers["Authorization"] == "Bearer user-token"
    assert upload.mimetype == "multipart/form-data"
    assert upload.form.to_dict() == {"media_category": "tweet_image"}
    assert (upload.files["media"].read(), upload.files["media"].mimetype) == (PNG_BYTES, "image/png")
    x_media_upload_validator().validate({**upload.form.to_dict(), "media": "<binary>"})
    body = httpserver.log[4][0].get_json()
    assert body == {"text": "Look at this", "media": {"media_ids": [X_MEDIA_ID, "1880028106020515841"]}}
    x_create_post_validator().validate(body)


def test_x_image_over_5_mb_is_permanent_and_nothing_is_uploaded(httpserver: HTTPServer, base_url):
    url = serve_image(httpserver, "/img/huge.png", png(padding=X_MAX_BYTES))

    with pytest.raises(PermanentError, match=r"media_urls\[0\]: \d+ bytes, X allows 5242880 bytes per image"):
        XAdapter().publish(_request("x", X_CREDENTIALS, url))
    assert posted(httpserver) == [("GET", "/img/huge.png")]


def test_x_image_of_the_wrong_type_is_permanent_and_nothing_is_uploaded(httpserver: HTTPServer, base_url):
    url = serve_image(httpserver, "/img/logo.svg", SVG_BYTES, "image/svg+xml")

    with pytest.raises(PermanentError, match=r"type image/svg[+]xml, X allows image/jpeg, image/png, image/gif"):
        XAdapter().publish(_request("x", X_CREDENTIALS, url))
    assert posted(httpserver) == [("GET", "/img/logo.svg")]


def test_x_503_during_upload_is_retry_after_and_nothing_is_posted(httpserver: HTTPServer, base_url):
    url = serve_image(httpserver, "/img/a.png", PNG_BYTES)
    httpserver.expect_request("/2/media/upload").respond_with_json({"title": "Service Unavailable"}, status=503)

    with pytest.raises(RetryAfterError) as caught:
        XAdapter().publish(_request("x", X_CREDENTIALS, url))
    assert not isinstance(caught.value, OutcomeUnknownError)
    assert ("POST", "/2/tweets") not in posted(httpserver)


def test_x_timeout_during_upload_is_retry_after_not_unknown(httpserver: HTTPServer, hang):
    url = serve_image(httpserver, "/img/a.png", PNG_BYTES)
    hang.at("/2/media/upload")

    with pytest.raises(RetryAfterError, match="before the post: nothing was published"):
        XAdapter().publish(_request("x", X_CREDENTIALS, url))
    assert hang.received("/2/tweets") == 0


def test_x_upload_answer_without_an_id_is_retry_after(httpserver: HTTPServer, base_url):
    url = serve_image(httpserver, "/img/a.png", PNG_BYTES)
    httpserver.expect_request("/2/media/upload").respond_with_json({"errors": [{"title": "oops"}]}, status=200)

    with pytest.raises(RetryAfterError, match="without an id"):
        XAdapter().publish(_request("x", X_CREDENTIALS, url))
    assert ("POST", "/2/tweets") not in posted(httpserver)


def test_x_validate_counts_urls_and_ids_together_and_allows_an_image_without_text():
    adapter = XAdapter()
    five = tuple(f"https://cdn.example/{i}.png" for i in range(5))
    assert adapter.validate(_request("x", X_CREDENTIALS, *five)) == ["media_urls: 5 images, X allows 4"]
    assert adapter.validate(_request("x", X_CREDENTIALS, "https://cdn.example/a.png", text="")) == []


# --- Bluesky ------------------------------------------------------------------------------------

BSKY_CREDENTIALS = Credentials(account_id="did:plc:ewvi7nxzyoun6zhxrhs64oiz", access_token="jwt")


def blob_answer(content: bytes, mime: str = "image/png") -> dict:
    return {"blob": {"$type": "blob", "ref": {"$link": blob_cid(content)}, "mimeType": mime, "size": len(content)}}


def test_bluesky_size_limit_is_the_lexicons():
    image = bluesky_lexicon("app.bsky.embed.images")["defs"]["image"]["properties"]["image"]
    assert image["maxSize"] == BLUESKY_MAX_BYTES
    assert bluesky_lexicon("app.bsky.embed.images")["defs"]["main"]["properties"]["images"]["maxLength"] == 4


def test_bluesky_uploads_the_raw_bytes_and_embeds_the_blob(httpserver: HTTPServer, base_url, frozen):
    url = serve_image(httpserver, "/img/a.png", PNG_BYTES)
    httpserver.expect_request("/xrpc/com.atproto.repo.uploadBlob", method="POST").respond_with_json(
        blob_answer(PNG_BYTES)
    )
    httpserver.expect_request("/xrpc/com.atproto.repo.createRecord", method="POST").respond_with_json(
        {"uri": "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3k", "cid": "bafyrei"}
    )

    result = BlueskyAdapter().publish(_request("bluesky", BSKY_CREDENTIALS, url))

    assert result.platform_post_id.endswith("/app.bsky.feed.post/3k")
    upload = httpserver.log[1][0]
    assert upload.headers["Content-Type"] == "image/png"
    assert upload.headers["Authorization"] == "Bearer jwt"
    assert upload.get_data() == PNG_BYTES
    body = httpserver.log[2][0].get_json()
    assert body["record"]["embed"] == {
        "$type": "app.bsky.embed.images",
        "images": [{"image": blob_answer(PNG_BYTES)["blob"], "alt": ""}],
    }
    check_bluesky_create(body)


def test_the_lexicon_check_sees_a_blob_over_max_size():
    with pytest.raises(AssertionError, match="over maxSize"):
        check_bluesky_create(
            {
                "repo": "did:plc:x",
                "collection": "app.bsky.feed.post",
                "record": {
                    "$type": "app.bsky.feed.post",
                    "text": "",
                    "createdAt": "2026-03-02T10:00:00.000Z",
                    "embed": {
                        "$type": "app.bsky.embed.images",
                        "images": [{"image": {**blob_answer(PNG_BYTES)["blob"], "size": 2_000_001}, "alt": ""}],
                    },
                },
            }
        )


def test_bluesky_image_over_the_lexicon_limit_is_permanent(httpserver: HTTPServer, base_url):
    url = serve_image(httpserver, "/img/big.png", png(padding=BLUESKY_MAX_BYTES))

    with pytest.raises(PermanentError, match=r"bytes, Bluesky allows 2000000 bytes per image"):
        BlueskyAdapter().publish(_request("bluesky", BSKY_CREDENTIALS, url))
    assert posted(httpserver) == [("GET", "/img/big.png")]


@pytest.mark.parametrize("status", [500, 503])
def test_bluesky_5xx_on_upload_blob_is_retry_after(status, httpserver: HTTPServer, base_url):
    # Only createRecord's 500 may mean "already exists"; an upload's 500 published nothing.
    url = serve_image(httpserver, "/img/a.png", PNG_BYTES)
    httpserver.expect_request("/xrpc/com.atproto.repo.uploadBlob").respond_with_json(
        {"error": "InternalServerError", "message": "Internal Server Error"}, status=status
    )

    with pytest.raises(RetryAfterError) as caught:
        BlueskyAdapter().publish(_request("bluesky", BSKY_CREDENTIALS, url))
    assert not isinstance(caught.value, OutcomeUnknownError)
    assert ("POST", "/xrpc/com.atproto.repo.createRecord") not in posted(httpserver)


def test_bluesky_validate_refuses_a_fifth_image():
    five = tuple(f"https://cdn.example/{i}.png" for i in range(5))
    assert BlueskyAdapter().validate(_request("bluesky", BSKY_CREDENTIALS, *five)) == [
        "media_urls: 5 images, Bluesky allows 4"
    ]


# --- Mastodon -----------------------------------------------------------------------------------

MASTO_CREDENTIALS = Credentials(account_id="109", access_token="masto-token")


def _mastodon() -> MastodonAdapter:
    adapter = MastodonAdapter()
    adapter.media_poll_interval = 0
    return adapter


def test_mastodon_uploads_to_v2_media_and_posts_the_media_id(httpserver: HTTPServer, base_url):
    url = serve_image(httpserver, "/img/a.png", PNG_BYTES)
    attachment = mastodon_example("MediaAttachment200Example")
    httpserver.expect_request("/api/v2/media", method="POST").respond_with_json(attachment, status=200)
    httpserver.expect_request("/api/v1/statuses", method="POST").respond_with_json(
        {"id": "1100", "url": "https://example.social/@brand/1100"}
    )

    result = _mastodon().publish(_request("mastodon", MASTO_CREDENTIALS, url))

    assert result.platform_post_id == "1100"
    assert posted(httpserver) == [("GET", "/img/a.png"), ("POST", "/api/v2/media"), ("POST", "/api/v1/statuses")]
    upload = httpserver.log[1][0]
    assert upload.headers["Authorization"] == "Bearer masto-token"
    assert (upload.files["file"].read(), upload.files["file"].mimetype) == (PNG_BYTES, "image/png")
    check_mastodon_media_upload(set(upload.files) | set(upload.form))
    status = httpserver.log[2][0]
    assert status.get_json()["media_ids"] == [attachment["id"]]
    assert status.headers["Idempotency-Key"] == "post_social:7"
    mastodon_create_status_validator().validate(status.get_json())


def test_mastodon_202_polls_until_the_url_is_set(httpserver: HTTPServer, base_url):
    url = serve_image(httpserver, "/img/a.png", PNG_BYTES)
    processing = mastodon_example("MediaAttachment202Example")
    ready = mastodon_example("MediaAttachment200Example")
    httpserver.expect_request("/api/v2/media", method="POST").respond_with_json(processing, status=202)
    answers = iter([Response("", status=206), Response(json.dumps(ready), content_type="application/json")])
    httpserver.expect_request(f"/api/v1/media/{processing['id']}", method="GET").respond_with_handler(
        lambda request: next(answers)
    )
    httpserver.expect_request("/api/v1/statuses", method="POST").respond_with_json({"id": "1100", "url": "u"})

    _mastodon().publish(_request("mastodon", MASTO_CREDENTIALS, url))

    assert posted(httpserver)[1:] == [
        ("POST", "/api/v2/media"),
        ("GET", f"/api/v1/media/{processing['id']}"),
        ("GET", f"/api/v1/media/{processing['id']}"),
        ("POST", "/api/v1/statuses"),
    ]
    assert httpserver.log[-1][0].get_json()["media_ids"] == [processing["id"]]


def test_mastodon_media_never_ready_is_retry_after_and_no_status(httpserver: HTTPServer, base_url):
    url = serve_image(httpserver, "/img/a.png", PNG_BYTES)
    processing = mastodon_example("MediaAttachment202Example")
    httpserver.expect_request("/api/v2/media").respond_with_json(processing, status=202)
    httpserver.expect_request(f"/api/v1/media/{processing['id']}").respond_with_json(processing, status=200)
    adapter = _mastodon()
    adapter.media_poll_attempts = 3

    with pytest.raises(RetryAfterError, match="still processing after 3 checks"):
        adapter.publish(_request("mastodon", MASTO_CREDENTIALS, url))
    assert posted(httpserver).count(("GET", f"/api/v1/media/{processing['id']}")) == 3
    assert ("POST", "/api/v1/statuses") not in posted(httpserver)


def test_mastodon_503_during_upload_is_retry_after(httpserver: HTTPServer, base_url):
    url = serve_image(httpserver, "/img/a.png", PNG_BYTES)
    httpserver.expect_request("/api/v2/media").respond_with_json({"error": "Unavailable"}, status=503)

    with pytest.raises(RetryAfterError) as caught:
        _mastodon().publish(_request("mastodon", MASTO_CREDENTIALS, url))
    assert not isinstance(caught.value, OutcomeUnknownError)
    assert ("POST", "/api/v1/statuses") not in posted(httpserver)


def test_mastodon_instance_image_limit_comes_from_the_account(httpserver: HTTPServer, base_url):
    url = serve_image(httpserver, "/img/a.png", png(padding=500))
    credentials = Credentials(account_id="109", access_token="t", extra={"image_size_limit": "400"})

    with pytest.raises(PermanentError, match="Mastodon allows 400 bytes per image"):
        _mastodon().publish(_request("mastodon", credentials, url))
    assert posted(httpserver) == [("GET", "/img/a.png")]


# --- LinkedIn -----------------------------------------------------------------------------------

LI_CREDENTIALS = Credentials(account_id="urn:li:organization:5515715", access_token="li-token")
LI_IMAGE = "urn:li:image:C4E10AQFoyyAjHPMQuQ"


def linkedin_upload(httpserver: HTTPServer, image_urn: str = LI_IMAGE) -> None:
    httpserver.expect_request(
        "/rest/images", method="POST", query_string={"action": "initializeUpload"}
    ).respond_with_json(
        {
            "value": {
                "uploadUrlExpiresAt": 1650567510704,
                "uploadUrl": httpserver.url_for("/dms-uploads/sp/v2/C4E10AQ/uploaded-image/0?ca=vector_feedshare"),
                "image": image_urn,
            }
        }
    )
    httpserver.expect_request("/dms-uploads/sp/v2/C4E10AQ/uploaded-image/0", method="PUT").respond_with_data(
        "", status=201
    )


def test_linkedin_initializes_puts_the_bytes_and_posts_content_media(httpserver: HTTPServer, base_url):
    url = serve_image(httpserver, "/img/a.png", PNG_BYTES)
    linkedin_upload(httpserver)
    httpserver.expect_request("/rest/posts", method="POST").respond_with_data(
        "", status=201, headers={"x-restli-id": "urn:li:share:7"}
    )

    result = LinkedInAdapter().publish(_request("linkedin", LI_CREDENTIALS, url))

    assert result.platform_post_id == "urn:li:share:7"
    assert posted(httpserver) == [
        ("GET", "/img/a.png"),
        ("POST", "/rest/images"),
        ("PUT", "/dms-uploads/sp/v2/C4E10AQ/uploaded-image/0"),
        ("POST", "/rest/posts"),
    ]
    init = httpserver.log[1][0]
    assert init.get_json() == {"initializeUploadRequest": {"owner": "urn:li:organization:5515715"}}
    assert init.headers["LinkedIn-Version"] == "202510"
    put = httpserver.log[2][0]
    assert put.get_data() == PNG_BYTES
    assert put.headers["Authorization"] == "Bearer li-token"
    post = httpserver.log[3][0].get_json()
    assert post["content"] == {"media": {"id": LI_IMAGE}}
    assert post["author"] == "urn:li:organization:5515715"


def test_linkedin_refuses_webp_and_a_second_image(httpserver: HTTPServer, base_url):
    url = serve_image(httpserver, "/img/a.webp", WEBP_BYTES, "image/webp")
    with pytest.raises(PermanentError, match="type image/webp, this LinkedIn adapter allows image/jpeg, image/png"):
        LinkedInAdapter().publish(_request("linkedin", LI_CREDENTIALS, url))
    assert posted(httpserver) == [("GET", "/img/a.webp")]
    assert LinkedInAdapter().validate(_request("linkedin", LI_CREDENTIALS, url, url)) == [
        "media_urls: 2 images, this LinkedIn adapter allows 1"
    ]


def test_linkedin_503_on_the_put_is_retry_after(httpserver: HTTPServer, base_url):
    url = serve_image(httpserver, "/img/a.png", PNG_BYTES)
    httpserver.expect_request("/rest/images", method="POST").respond_with_json(
        {"value": {"uploadUrl": httpserver.url_for("/dms-uploads/x"), "image": LI_IMAGE}}
    )
    httpserver.expect_request("/dms-uploads/x", method="PUT").respond_with_data("busy", status=503)

    with pytest.raises(RetryAfterError) as caught:
        LinkedInAdapter().publish(_request("linkedin", LI_CREDENTIALS, url))
    assert not isinstance(caught.value, OutcomeUnknownError)
    assert ("POST", "/rest/posts") not in posted(httpserver)


# --- Facebook Pages -----------------------------------------------------------------------------

FB_CREDENTIALS = Credentials(account_id="99", access_token="page-token")


def test_facebook_posts_the_photo_url_and_message_to_photos(httpserver: HTTPServer, base_url):
    url = serve_image(httpserver, "/img/a.png", PNG_BYTES)
    httpserver.expect_request("/v23.0/99/photos", method="POST").respond_with_json(
        {"id": "10158", "post_id": "99_10159"}
    )

    result = FacebookAdapter().publish(_request("facebook", FB_CREDENTIALS, url))

    assert result.platform_post_id == "99_10159"
    assert result.url == "https://www.facebook.com/99/posts/10159"
    assert posted(httpserver) == [("GET", "/img/a.png"), ("POST", "/v23.0/99/photos")]
    form = httpserver.log[1][0].form.to_dict()
    assert form == {"url": url, "message": "Look at this", "access_token": "page-token"}
    check_meta_form(form, "Page", "photos")


def test_facebook_image_over_4_mb_is_permanent_and_no_photo_is_posted(httpserver: HTTPServer, base_url):
    url = serve_image(httpserver, "/img/big.png", png(padding=4 * 1024 * 1024))

    with pytest.raises(PermanentError, match="this Facebook adapter allows 4194304 bytes per image"):
        FacebookAdapter().publish(_request("facebook", FB_CREDENTIALS, url))
    assert posted(httpserver) == [("GET", "/img/big.png")]


def test_facebook_validate_one_image_and_no_link_with_it():
    adapter = FacebookAdapter()
    request = PublishRequest(
        platform="facebook",
        text="x",
        credentials=FB_CREDENTIALS,
        idempotency_key="k",
        media_urls=("https://cdn.example/a.png", "https://cdn.example/b.png"),
        link_url="https://example.com",
    )
    assert adapter.validate(request) == [
        "media_urls: 2 images, this Facebook adapter allows 1",
        "link_url: a Facebook photo post cannot carry a link; put it in the text",
    ]


# --- PROOF --------------------------------------------------------------------------------------

PROOF_CASES = {
    "x": (X_CREDENTIALS, "/2/tweets"),
    "bluesky": (BSKY_CREDENTIALS, "/xrpc/com.atproto.repo.createRecord"),
    "mastodon": (MASTO_CREDENTIALS, "/api/v1/statuses"),
    "linkedin": (LI_CREDENTIALS, "/rest/posts"),
    "facebook": (FB_CREDENTIALS, "/v23.0/99/photos"),
}


def _fake_platform(httpserver: HTTPServer, platform: str) -> None:
    """Answers whose ids are the ones PROOF stands in, so the post request must match byte for byte."""
    stand_in = placeholder_id(Image(url="", mime_type="image/png", content=PNG_BYTES))
    if platform == "x":
        httpserver.expect_request("/2/media/upload").respond_with_json(x_upload_answer(stand_in))
        httpserver.expect_request("/2/tweets").respond_with_json({"data": {"id": "1"}}, status=201)
    elif platform == "bluesky":
        httpserver.expect_request("/xrpc/com.atproto.repo.uploadBlob").respond_with_json(blob_answer(PNG_BYTES))
        httpserver.expect_request("/xrpc/com.atproto.repo.createRecord").respond_with_json(
            {"uri": "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/x", "cid": "c"}
        )
    elif platform == "mastodon":
        httpserver.expect_request("/api/v2/media").respond_with_json(
            {**mastodon_example("MediaAttachment200Example"), "id": stand_in}
        )
        httpserver.expect_request("/api/v1/statuses").respond_with_json({"id": "1", "url": "u"})
    elif platform == "linkedin":
        linkedin_upload(httpserver, f"urn:li:image:proof-{hashlib.sha256(PNG_BYTES).hexdigest()[:16]}")
        httpserver.expect_request("/rest/posts").respond_with_data("", status=201, headers={"x-restli-id": "urn:1"})
    else:
        httpserver.expect_request("/v23.0/99/photos").respond_with_json({"id": "1", "post_id": "99_1"})


def _handler_log(httpserver: HTTPServer) -> list[Request]:
    return [request for request, _ in httpserver.log if not request.path.startswith("/img/")]


@pytest.mark.parametrize("platform", sorted(PROOF_CASES))
def test_the_proof_artifact_shows_the_uploads_and_the_post_live_sends(
    platform, httpserver: HTTPServer, base_url, tmp_path, frozen
):
    credentials, post_path = PROOF_CASES[platform]
    url = serve_image(httpserver, "/img/a.png", PNG_BYTES)
    _fake_platform(httpserver, platform)
    adapter = get_adapter(platform)
    request = _request(platform, credentials, url)

    proof = proof_publish(adapter, request, artifacts_dir=tmp_path, name="t")
    assert [r.path for r in _handler_log(httpserver)] == []  # PROOF fetched the image, sent nothing else
    adapter.publish(request)

    stored = Path(proof.artifact_path).read_text(encoding="utf-8")
    document = json.loads(stored)
    sha = hashlib.sha256(PNG_BYTES).hexdigest()
    assert document["media"] == [{"url": url, "mime_type": "image/png", "size": len(PNG_BYTES), "sha256": sha}]
    sent = _handler_log(httpserver)
    *uploads_sent, post_sent = sent
    assert post_sent.path == post_path.split("?")[0]
    # The post request: what LIVE sent, field for field.
    artifact = document["request"]
    assert (artifact["method"], urlsplit(artifact["url"]).path) == (post_sent.method, post_sent.path)
    if artifact["form"] is not None:
        assert post_sent.form.to_dict() == {**artifact["form"], "access_token": credentials.access_token}
    else:
        assert post_sent.get_json() == artifact["body"]
    # The uploads: same calls in the same order, bodies as size and hash.
    assert len(document["uploads"]) == len(uploads_sent)
    for shown, real in zip(document["uploads"], uploads_sent, strict=True):
        assert shown["method"] == real.method
        if not shown["url"].startswith("("):  # LinkedIn's upload URL comes from the platform's answer
            assert urlsplit(shown["url"]).path == real.path
        files = shown.get("files") or {}
        for name, summary in files.items():
            assert summary == {
                "filename": real.files[name].filename,
                "content_type": "image/png",
                "bytes": len(PNG_BYTES),
                "sha256": sha,
            }
        if "content" in shown:
            assert shown["content"] == {"bytes": len(PNG_BYTES), "sha256": sha}
            assert real.get_data() == PNG_BYTES
        if shown["body"] is not None:
            assert real.get_json() == shown["body"]
        if shown["form"] is not None:
            assert real.form.to_dict() == shown["form"]
    assert "secret" not in stored and credentials.access_token not in stored
    assert base64.b64encode(PNG_BYTES).decode() not in stored  # never the bytes


def test_proof_fails_like_live_for_an_oversized_image(httpserver: HTTPServer, base_url, tmp_path):
    url = serve_image(httpserver, "/img/big.png", png(padding=X_MAX_BYTES))

    with pytest.raises(PermanentError, match="X allows 5242880 bytes per image"):
        proof_publish(XAdapter(), _request("x", X_CREDENTIALS, url), artifacts_dir=tmp_path, name="t")
    assert not list(tmp_path.iterdir())
