"""Nothing a publisher writes can act inside a channel (issue 11).

Feed items and list entries carrying Slack control sequences, Markdown links and images, HTML and `javascript:`
links are rendered through every format; the Slack payload is read where Apprise hands it to HTTP (a local
receiver standing in for hooks.slack.com), the email where a real SMTP server receives it.
"""

from __future__ import annotations

import re
from datetime import datetime
from html.parser import HTMLParser

import pytest

from notifier.alerts.deliver import send
from notifier.alerts.render import SourceMeta, render_changes, safe_url
from notifier.alerts.subscriptions import Channel
from notifier.store.changes import Change
from tests.support.receivers import SmtpSink, WebhookReceiver, parts

HOSTILE = (
    "Sanctions update <!channel> <!here|here> <@U024BE7LH> <#C024BE7LR> <https://evil.example/x|click here> "
    "[win a prize](javascript:alert(1)) ![pixel](https://evil.example/p.png) <script>alert(1)</script> "
    '<a href="javascript:alert(2)">open</a> <img src=x onerror=alert(3)> @everyone @here *bold* _it_ `code`'
)
NEWS = SourceMeta("news_x", "Hostile Feed", "XX", "news", "https://feeds.example.org/")
LIST = SourceMeta("list_x", "Hostile List", "XX", "designation", "https://list.example.org/")
WHEN = datetime(2026, 12, 2, 3, 30)


def _changes() -> tuple[list[Change], list[Change]]:
    news = Change(
        1,
        "item-1",
        "added",
        "news",
        HOSTILE,
        None,
        {"kind": "news", "key": "item-1", "title_text": HOSTILE, "summary": HOSTILE, "link": "javascript:alert(9)"},
        None,
    )
    party = {
        "kind": "designation",
        "key": "p1",
        "name": "ACME <!channel> [x](javascript:alert(4))",
        "entity_type": "organization",
        "programs": ["<@U024BE7LH>"],
        "aliases": [HOSTILE],
        "remarks": HOSTILE,
        "url": "javascript:alert(5)",
    }
    amended = {**party, "remarks": HOSTILE + " <!channel> again", "aliases": [HOSTILE, "<https://evil.example|x>"]}
    listed = [
        Change(2, "p1", "added", "designation", party["name"], None, party, None),
        Change(
            3,
            "p1",
            "amended",
            "designation",
            party["name"],
            party,
            amended,
            [
                {"field": "aliases", "added": ["<https://evil.example|x>"], "removed": []},
                {"field": "remarks", "before": party["remarks"], "after": amended["remarks"]},
            ],
        ),
    ]
    return [news], listed


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        self.tags.append((tag, dict(attrs)))


def _assert_html_is_inert(body: str) -> None:
    parser = _Tags()
    parser.feed(body)
    allowed = {"p", "b", "br", "ul", "li", "h3", "a", "i"}
    assert {t for t, _ in parser.tags} <= allowed, "no tag from the publisher survives"
    for tag, attrs in parser.tags:
        if tag == "a":
            assert set(attrs) == {"href"} and re.match(r"https?://", attrs["href"]), attrs
            assert "evil.example" not in attrs["href"]
        else:
            assert not attrs, (tag, attrs)


def _assert_slack_text_is_inert(text: str) -> None:
    """Slack acts on <!…>, <@…>, <#…> and <url|label>; only our own http(s) anchors may remain."""
    for seq in re.findall(r"<[^>]*>", text):
        assert re.fullmatch(r"<https?://[^|>\s]+(\|[^>]*)?>", seq), f"live Slack sequence {seq!r}"
        assert "evil.example" not in seq and "javascript" not in seq
    assert "<!" not in text and "<@" not in text and "<#" not in text


@pytest.mark.parametrize("meta_index", [0, 1])
def test_html_email_has_no_publisher_markup_and_no_javascript_href(meta_index):
    meta, changes = [(NEWS, _changes()[0]), (LIST, _changes()[1])][meta_index]
    [message] = render_changes(meta, WHEN, changes, "email", 100_000)
    _assert_html_is_inert(message.body)
    assert "&lt;script&gt;" in message.body, "the text is kept, as text"


@pytest.mark.parametrize("meta_index", [0, 1])
def test_markdown_has_no_live_link_image_or_mention(meta_index):
    from apprise import NotifyFormat
    from apprise.conversion.format import convert_between

    meta, changes = [(NEWS, _changes()[0]), (LIST, _changes()[1])][meta_index]
    [message] = render_changes(meta, WHEN, changes, "markdown", 30_000)
    as_html = convert_between(NotifyFormat.MARKDOWN, NotifyFormat.HTML, message.body)  # what a Markdown client shows
    parser = _Tags()
    parser.feed(as_html)
    assert not [t for t, _ in parser.tags if t in ("img", "script")]
    hrefs = [a.get("href", "") for t, a in parser.tags if t == "a"]
    assert all(re.match(r"https?://(list|feeds)\.example\.org/", h) for h in hrefs), hrefs
    assert "@\u2060everyone" in message.body and "@everyone" not in message.body


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_plain_text_defuses_mentions_and_shows_only_http_links(fmt):
    news, listed = _changes()
    for meta, changes in ((NEWS, news), (LIST, listed)):
        [message] = render_changes(meta, WHEN, changes, fmt, 30_000)
        assert "javascript:alert(9)" not in message.body and "javascript:alert(5)" not in message.body, "no bad link"
        assert not re.search(r"<[@!#]", message.body) and not re.search(r"@(everyone|here|channel)\b", message.body)


def test_safe_url_keeps_only_http_links():
    assert safe_url("https://sanctionssearch.ofac.treas.gov/Details.aspx?id=1") == (
        "https://sanctionssearch.ofac.treas.gov/Details.aspx?id=1"
    )
    for bad in ("javascript:alert(1)", " JaVaScRiPt:alert(1)", "data:text/html,x", "/relative", "ftp://x/y", None):
        assert safe_url(bad) is None, bad
    assert safe_url("https://x.org/a|b>c)") == "https://x.org/a%7Cb%3Ec%29", "no character that closes a link"


@pytest.fixture
def slack(monkeypatch):
    """A Slack webhook channel whose HTTP requests reach a local receiver instead of hooks.slack.com."""
    from apprise.plugins.slack import NotifySlack

    receiver = WebhookReceiver()
    receiver.reply = b"ok"
    monkeypatch.setattr(NotifySlack, "webhook_url", f"http://127.0.0.1:{receiver.port}/services")
    url = "slack://T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx"
    channel = Channel(url=url)
    channel.resolved = url
    yield receiver, channel
    receiver.close()


@pytest.mark.parametrize("fmt", ["slack", "text"])
def test_the_slack_payload_apprise_posts_carries_no_control_sequence(slack, fmt):
    receiver, channel = slack
    news, listed = _changes()
    sent = 0
    for meta, changes in ((NEWS, news), (LIST, listed)):
        for message in render_changes(meta, WHEN, changes, fmt, 30_000):
            assert send(channel, message, 10) is None
            sent += 1
    posted = receiver.wait(sent, timeout=30)
    assert len(posted) == sent and all(p["path"].startswith("/services/T0AAAAAAA/") for p in posted)
    for payload in posted:
        for attachment in payload.get("attachments", []):
            texts = [attachment.get("title", ""), attachment.get("text", "")]
            texts += [b["text"]["text"] for b in attachment.get("blocks", []) if "text" in b]
            for text in texts:
                _assert_slack_text_is_inert(text)
        assert "javascript:alert" not in str(payload).replace("javascript:alert(1)", "").replace(
            "javascript:alert(2)", ""
        ).replace("javascript:alert(4)", ""), "only the publisher's own words mention javascript, never a link"


def test_the_email_a_real_smtp_server_receives_is_inert_and_its_plain_part_has_the_links():
    news, listed = _changes()
    with SmtpSink() as smtp:
        channel = Channel(url=smtp.url())
        channel.resolved = smtp.url()
        for meta, changes in ((NEWS, news), (LIST, listed)):
            [message] = render_changes(meta, WHEN, changes, "email", 100_000)
            assert send(channel, message, 10) is None
        mails = smtp.wait(2)
    assert len(mails) == 2
    for mail in mails:
        body = parts(mail)
        _assert_html_is_inert(body["text/html"])
        assert re.search(r"https://(feeds|list)\.example\.org/", body["text/plain"]), "links in the plain-text part"
