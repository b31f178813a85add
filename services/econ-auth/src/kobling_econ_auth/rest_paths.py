"""Which requests the broker may send with a grant: e-conomic REST paths only. Pure, no I/O.

The grant goes wherever the request goes, so a path that could leave ECONOMIC_API_URL (an absolute
URL, `//host`, `..`, a backslash, `@`, a fragment) is refused outright rather than cleaned: a
caller that sends one is buggy or hostile either way.

A resource named by a product number like `Kåde-1` is addressed percent-encoded, as e-conomic's
self links write it (`/products/K%C3%A5de-1`). Each segment is decoded once, the decoded text
validated, and the segment encoded again as e-conomic expects (e-conomic/slate `_introduction.md`,
"Custom resource self-link encoding": `< > * % : & / \\ _ space ? . # +` are written `_0_` to
`_13_`, "All other non-alphanumeric characters in resource URLs are standard URL encoded").
So an encoded character from that table (`%2F`, `%2E`, `%25`, `%5C`, `%3F`, `%23`, ...) is
refused: e-conomic never writes one, and each is a way out of the path. `_` may come encoded or
not (it is the table's own escape, as in `_8_`).
"""

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlencode

import httpx

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
# Segments of paths as sent: /customers/42, /invoices/drafts/7/lines, /products/K%C3%A5de.
_RAW_SEGMENT = re.compile(r"^(?:[A-Za-z0-9_\-,;=~.]|%[0-9A-Fa-f]{2})+$")
# ... and decoded: dots only between parts (no `.`, `..`, `a.`), the parts of allowed characters.
_PART = r"[^.]+"
_DECODED_SEGMENT = re.compile(rf"^{_PART}(?:\.{_PART})*$")
# e-conomic's own replacements (`_0_` … `_13_`): never percent-encoded in its URLs (`_` may be:
# it is the escape itself).
_REPLACED = frozenset("<>*%:&/\\ ?.#+")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
# Printable ASCII besides letters and digits that e-conomic URL-encodes and that means nothing
# once encoded again (the table's characters, quotes and brackets of a URL's syntax excepted).
_PUNCTUATION = frozenset("!$'()-,;=_~")
_KEPT = ",;="  # left as they are, with letters, digits and `_.-~`, when encoding again
# Printable ASCII, bounded (a UUID is 36): it goes into a header, and into nothing else.
_KEY = re.compile(r"[!-~]{1,128}")
IDEMPOTENCY_KEY = f"^{_KEY.pattern}$"
_QUERY_VALUE = re.compile(r"^[\w\-.:,;$*/ =<>!@+'()\[\]&|]*$")
MAX_PATH = 512


class NotARestPath(ValueError):
    """The request could leave e-conomic's API, or is not one e-conomic's REST API serves."""


@dataclass(frozen=True)
class RestRequest:
    method: str
    path: str  # without its query, encoded again as e-conomic expects: what the audit records
    query: str  # re-encoded from its parsed pairs, never passed through as given
    # The caller's Idempotency-Key, sent on to e-conomic: a create repeated with it within the
    # hour gets the first answer (contracts E24), so a POST with one may be sent again.
    idempotency_key: str | None = None


def parse(method: str, path: str, idempotency_key: str | None = None) -> RestRequest:
    if method not in METHODS:
        raise NotARestPath("method")
    if len(path) > MAX_PATH or any(ord(c) < 0x21 or ord(c) > 0x7E for c in path):
        raise NotARestPath("characters")
    bare, _, query = path.partition("?")
    if "#" in path:
        raise NotARestPath("path")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise NotARestPath("query") from None
    if any(not _QUERY_VALUE.match(k + v) for k, v in pairs):
        raise NotARestPath("query")
    encoded = _path(bare)
    if len(encoded) > MAX_PATH:
        raise NotARestPath("characters")
    if idempotency_key is not None and not _KEY.fullmatch(idempotency_key):
        raise NotARestPath("Idempotency-Key")
    return RestRequest(method, encoded, urlencode(pairs), idempotency_key)


def _path(bare: str) -> str:
    """`/a/b` or `/a/b/`, each segment decoded once, checked and encoded again."""
    if not bare.startswith("/"):
        raise NotARestPath("path")
    segments = bare[1:].split("/")
    trailing = len(segments) > 1 and segments[-1] == ""
    segments = segments[:-1] if trailing else segments
    return "/" + "/".join(_segment(s) for s in segments) + ("/" if trailing else "")


def _segment(raw: str) -> str:
    if not _RAW_SEGMENT.match(raw) or any(
        chr(int(h, 16)) in _REPLACED for h in _ESCAPE.findall(raw)
    ):
        raise NotARestPath("path")
    try:
        decoded = unquote(raw, errors="strict")  # once: `%252e` stays `%2e`, refused below
    except UnicodeDecodeError:
        raise NotARestPath("encoding") from None
    if not _DECODED_SEGMENT.match(decoded) or not all(_allowed(c) for c in decoded):
        raise NotARestPath("path")
    return quote(decoded, safe=_KEPT)


def _allowed(c: str) -> bool:
    """A letter, digit or mark of any script (æ, ø, å, ü, a combining ring) or harmless ASCII
    punctuation. Not a character whose compatibility form hides one of the table's (`⒈` is
    `1.`, the fullwidth solidus is `/`), nor a space, control, format or private-use character."""
    if c.isascii():
        return c.isalnum() or c in _PUNCTUATION or c == "."
    if unicodedata.category(c)[0] not in "LMN":
        return False
    folded = unicodedata.normalize("NFKC", c)
    return not any(f.isascii() and not f.isalnum() for f in folded)


def url_under(api_url: str, request: RestRequest) -> httpx.URL:
    """The URL to call; asserts it is still under ECONOMIC_API_URL (a second lock on the door)."""
    base = httpx.URL(api_url.rstrip("/"))
    url = httpx.URL(f"{base}{request.path}")
    url = url.copy_with(query=request.query.encode()) if request.query else url
    if (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port):
        raise NotARestPath("host")
    if not url.raw_path.startswith(base.raw_path.rstrip(b"/") + b"/"):
        raise NotARestPath("path")
    return url
