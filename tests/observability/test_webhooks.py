"""The pure webhook functions: Discord or not, payloads and Discord's limits, signatures, redaction."""

import asyncio
import datetime
import hashlib
import hmac
import json

import httpx
import pytest

from observability import webhooks
from observability.http_client import make_async_client
from observability.redaction import Redactor
from observability.webhook_delivery import classify

TOKEN = "AbC-123_xyzTOKENtokenTOKEN0987654321"


@pytest.mark.parametrize(
    "url",
    [
        f"https://discord.com/api/webhooks/123456/{TOKEN}",
        f"https://discordapp.com/api/webhooks/123456/{TOKEN}",
        f"https://canary.discord.com/api/webhooks/123456/{TOKEN}",
        f"https://ptb.discordapp.com/api/webhooks/123456/{TOKEN}",
        f"https://discord.com/api/v10/webhooks/123456/{TOKEN}",
        f"https://DISCORD.com/api/webhooks/123456/{TOKEN}/",
        f"https://discord.com/api/webhooks/123456/{TOKEN}?thread_id=9",
        f"  https://discord.com/api/webhooks/123456/{TOKEN}\n",
    ],
)
def test_discord_webhook_urls_are_recognised(url):
    assert webhooks.is_discord_url(url) is True


@pytest.mark.parametrize(
    "url",
    [
        f"https://discord.com.evil.example/api/webhooks/123456/{TOKEN}",
        f"https://evil.example/api/webhooks/123456/{TOKEN}",
        f"https://evil.example/?next=https://discord.com/api/webhooks/123456/{TOKEN}",
        f"https://evil.example/https://discord.com/api/webhooks/123456/{TOKEN}",
        f"https://discord.com@evil.example/api/webhooks/123456/{TOKEN}",
        f"https://user@discord.com/api/webhooks/123456/{TOKEN}",
        f"http://discord.com/api/webhooks/123456/{TOKEN}",
        f"https://www.discord.com/api/webhooks/123456/{TOKEN}",
        f"https://discord.com/api/webhooks/not-a-number/{TOKEN}",
        "https://discord.com/api/webhooks/123456",
        f"https://discord.com/webhooks/123456/{TOKEN}",
        f"https://discord.com/api/webhooks/123456/{TOKEN}/slack",
        "not a url",
        "",
        None,
    ],
)
def test_other_urls_are_not_discord(url):
    assert webhooks.is_discord_url(url) is False


def test_a_discord_url_gets_one_embed_that_pings_nobody():
    payload = webhooks.build_payload(
        f"https://discord.com/api/webhooks/1/{TOKEN}",
        severity="critical",
        title="@everyone db down",
        message="cannot connect",
        context={"host": "db1", "tries": 3},
        timestamp="2026-01-02T03:04:05+00:00",
    )

    assert payload["allowed_mentions"] == {"parse": []}
    (embed,) = payload["embeds"]
    assert embed["title"] == "@everyone db down"
    assert embed["description"] == "cannot connect"
    assert embed["color"] == webhooks.COLOURS["critical"]
    assert embed["timestamp"] == "2026-01-02T03:04:05+00:00"
    assert embed["fields"] == [
        {"name": "host", "value": "db1", "inline": True},
        {"name": "tries", "value": "3", "inline": True},
    ]


def test_each_severity_has_its_own_colour():
    colours = {
        severity: webhooks.discord_payload(severity=severity, title="t", message="m", context={})["embeds"][
            0
        ]["color"]
        for severity in ("info", "warning", "critical")
    }

    assert len(set(colours.values())) == 3


def test_any_other_url_gets_the_generic_versioned_body():
    payload = webhooks.build_payload(
        "https://alerts.example/hook",
        severity="warning",
        title="t",
        message="m",
        context={"a": 1},
        alert_id="abc",
        dedup_key="warning:t",
        timestamp="2026-01-02T03:04:05+00:00",
    )

    assert payload == {
        "schema": "atocore.alert",
        "version": 1,
        "id": "abc",
        "dedup_key": "warning:t",
        "severity": "warning",
        "title": "t",
        "message": "m",
        "context": {"a": 1},
        "timestamp": "2026-01-02T03:04:05+00:00",
        "suppressed": 0,
    }


def _embed(**kwargs):
    args = {"severity": "warning", "title": "t", "message": "m", "context": {}} | kwargs
    return webhooks.discord_payload(**args)["embeds"][0]


def _total(embed) -> int:
    return (
        len(embed["title"])
        + len(embed["description"])
        + len(embed["footer"]["text"])
        + sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
    )


def test_title_and_description_are_cut_to_discords_limits_with_a_marker():
    embed = _embed(title="T" * 300, message="M" * 5000)

    assert len(embed["title"]) == 256
    assert embed["title"].endswith("…")
    assert len(embed["description"]) == 4096
    assert embed["description"].endswith("…")


def test_field_names_and_values_are_cut_to_discords_limits():
    embed = _embed(message="m", context={"N" * 300: "V" * 2000})

    (field,) = embed["fields"]
    assert len(field["name"]) <= 256
    assert len(field["value"]) <= 1024
    assert field["value"].endswith("…")


def test_at_most_25_fields_and_the_last_says_how_many_were_left_out():
    embed = _embed(context={f"k{i}": i for i in range(40)})

    assert len(embed["fields"]) == 25
    assert embed["fields"][-1]["value"] == "16 more context fields not shown"


def test_the_whole_embed_stays_within_6000_characters():
    embed = _embed(title="T" * 300, message="M" * 5000, context={f"key {i}": "v" * 1000 for i in range(25)})

    assert _total(embed) <= 6000
    assert "more context field" in embed["fields"][-1]["value"]


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_an_empty_value_is_shown_as_a_dash(empty):
    embed = _embed(title="", message="", context={"a": empty})

    assert embed["fields"][0]["value"] == "-"
    assert embed["title"] == "-"
    assert embed["description"] == "-"


def test_the_embed_says_how_many_repeats_were_suppressed():
    assert "12 repeats suppressed" in _embed(suppressed=12)["footer"]["text"]


def test_discord_posts_wait_for_the_answer_and_keep_other_parameters():
    url = webhooks.discord_post_url(f"https://discord.com/api/webhooks/1/{TOKEN}?thread_id=9")

    assert url == f"https://discord.com/api/webhooks/1/{TOKEN}?thread_id=9&wait=true"


def test_the_signature_is_an_hmac_over_timestamp_and_the_exact_body():
    body = webhooks.encode({"a": "é"})
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()

    assert webhooks.sign("s3cret", 1700000000, body) == f"sha256={expected}"


def test_encoded_bodies_are_strict_json():
    with pytest.raises(ValueError):
        webhooks.encode({"x": float("nan")})
    assert json.loads(webhooks.encode({"x": "é"})) == {"x": "é"}


@pytest.mark.parametrize(
    ("headers", "body", "seconds"),
    [
        ({"Retry-After": "30"}, b"", 30.0),
        ({"retry-after": "1.5"}, b"", 1.5),
        ({}, b'{"message": "You are being rate limited.", "retry_after": 12.5, "global": false}', 12.5),
        ({"Retry-After": "2"}, b'{"retry_after": 7}', 7.0),
        ({"Retry-After": "Fri, 02 Jan 2026 03:05:05 GMT"}, b"", 60.0),
        ({}, b"", webhooks.RETRY_AFTER_DEFAULT),
        ({"Retry-After": "999999"}, b"", webhooks.RETRY_AFTER_MAX),
        ({"Retry-After": "-5"}, b"", 0.0),
    ],
)
def test_retry_after_is_read_from_the_header_and_discords_body(headers, body, seconds):
    now = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)

    assert webhooks.retry_after_seconds(headers, body, now=now) == seconds


@pytest.mark.parametrize(
    ("status", "outcome", "gone"),
    [
        (204, "sent", False),
        (302, "client_error", False),
        (400, "client_error", False),
        (401, "client_error", True),
        (404, "client_error", True),
        (429, "rate_limited", False),
        (500, "server_error", False),
        (503, "server_error", False),
    ],
)
def test_responses_are_classified(status, outcome, gone):
    delivery = classify(status, {}, b"")

    assert (delivery.outcome, delivery.gone) == (outcome, gone)


def test_a_discord_url_is_shown_with_its_token_masked():
    assert (
        webhooks.display_url(f"https://discord.com/api/webhooks/123456/{TOKEN}")
        == "https://discord.com/api/webhooks/123456/****"
    )


def test_any_other_url_is_shown_without_path_query_or_user_info():
    shown = webhooks.display_url(
        "https://user:pw@alerts.example:8443/hooks/T0/B0/XXXXXXXXXXXXXXXX?key=abcdef"
    )

    assert shown == "https://alerts.example:8443/****"


def test_the_redactor_removes_the_token_wherever_it_appears():
    url = f"https://discord.com/api/webhooks/123456/{TOKEN}"
    scrub = Redactor(url, "signing-secret")

    text = scrub(f"failed: {url} / token={TOKEN} / key signing-secret")

    assert TOKEN not in text
    assert "signing-secret" not in text
    assert "https://discord.com/api/webhooks/123456/****" in text


def test_the_redactor_removes_generic_url_secrets():
    url = "https://hooks.example/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX?token=QUERYSECRET1"
    scrub = Redactor(url)

    text = scrub(f"{url} and XXXXXXXXXXXXXXXXXXXXXXXX and QUERYSECRET1")

    assert "XXXXXXXXXXXXXXXXXXXXXXXX" not in text
    assert "QUERYSECRET1" not in text


def test_the_client_factory_sets_every_timeout_and_follows_no_redirect():
    client = make_async_client(timeout=2.5)
    asyncio.run(client.aclose())

    assert client.timeout == httpx.Timeout(connect=2.5, read=2.5, write=2.5, pool=2.5)
    assert client.follow_redirects is False
    assert client.trust_env is False
