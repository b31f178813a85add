"""Which requests the broker may send with a grant: e-conomic REST paths only. Pure, no I/O.

The grant goes wherever the request goes, so a path that could leave ECONOMIC_API_URL (an absolute
URL, `//host`, `..`, a backslash, percent-encoding that decodes to any of them, `@`) is refused
outright rather than cleaned: a caller that sends one is buggy or hostile either way.
"""

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

import httpx

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
# Segments of e-conomic's paths: /customers/42, /invoices/drafts/7/lines, /journals/1/vouchers.
_SEGMENT = r"[A-Za-z0-9_\-,;=~]+(?:\.[A-Za-z0-9_\-,;=~]+)*"
_PATH = re.compile(rf"^(?:/{_SEGMENT})+/?$")
_QUERY_VALUE = re.compile(r"^[\w\-.:,;$*/ =<>!@+'()\[\]&|]*$")
MAX_PATH = 512


class NotARestPath(ValueError):
    """The request could leave e-conomic's API, or is not one e-conomic's REST API serves."""


@dataclass(frozen=True)
class RestRequest:
    method: str
    path: str  # without its query: what the audit records
    query: str  # re-encoded from its parsed pairs, never passed through as given


def parse(method: str, path: str) -> RestRequest:
    if method not in METHODS:
        raise NotARestPath("method")
    if len(path) > MAX_PATH or any(ord(c) < 0x21 or ord(c) > 0x7E for c in path):
        raise NotARestPath("characters")
    bare, _, query = path.partition("?")
    if "#" in path or not _PATH.match(bare):
        raise NotARestPath("path")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise NotARestPath("query") from None
    if any(not _QUERY_VALUE.match(k + v) for k, v in pairs):
        raise NotARestPath("query")
    return RestRequest(method, bare, urlencode(pairs))


def url_under(api_url: str, request: RestRequest) -> httpx.URL:
    """The URL to call; asserts it is still under ECONOMIC_API_URL (a second lock on the door)."""
    base = httpx.URL(api_url.rstrip("/"))
    url = httpx.URL(f"{base}{request.path}", query=request.query.encode())
    if (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port):
        raise NotARestPath("host")
    if not url.path.startswith(f"{base.path.rstrip('/')}/"):
        raise NotARestPath("path")
    return url
