"""Who is not a customer opening a link: bots, crawlers, link previews and prefetches.

Known bots are told by their user agent with CrawlerDetect's maintained list (the
crawlerdetect package; it also knows the link-preview fetchers of chat apps, social
networks and mail scanners). Browsers that prefetch or build a preview say so in a
header (Purpose / Sec-Purpose: prefetch, X-Purpose: preview, X-Moz: prefetch).
"""

from __future__ import annotations

from crawlerdetect import CrawlerDetect
from django.http import HttpRequest

PREVIEW_HEADERS = ("Purpose", "Sec-Purpose", "X-Purpose", "X-Moz")
PREVIEW_WORDS = ("prefetch", "preview", "prerender")

_detector = CrawlerDetect()


def is_bot(user_agent: str) -> bool:
    """A known bot or crawler, or no user agent at all (browsers always send one)."""
    if not user_agent.strip():
        return True
    return bool(_detector.is_crawler(user_agent))


def is_preview(request: HttpRequest) -> bool:
    """A prefetch or link preview the browser announced."""
    for header in PREVIEW_HEADERS:
        value = request.headers.get(header, "").lower()
        if any(word in value for word in PREVIEW_WORDS):
            return True
    return False


def is_automated(request: HttpRequest) -> bool:
    """Not a person opening the link: HEAD, a known bot, or a preview or prefetch."""
    if request.method == "HEAD":
        return True
    return is_bot(request.headers.get("User-Agent", "")) or is_preview(request)
