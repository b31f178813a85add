"""The words of every page and of the Stripe App: one catalogue per language, messages/<lang>.json.

Plain JSON, read with the standard library: the Stripe App imports the same files when it is built
(TypeScript reads JSON as it is), so each language has one file for the pages and the app alike;
gettext's .po files (Babel) would need a converter or a parser on the app's side. Keys are dotted
names (`problem.<name>.title`); `{name}` marks a value filled in with `str.format`.
"""

import json
from collections.abc import Mapping
from importlib.resources import files
from types import MappingProxyType

LANGUAGES = ("en", "da")


def _catalogue(lang: str) -> Mapping[str, str]:
    text = files(__package__).joinpath("messages", f"{lang}.json").read_text(encoding="utf-8")
    return MappingProxyType(json.loads(text))


CATALOGUES = {lang: _catalogue(lang) for lang in LANGUAGES}


def language(*wanted: str | None) -> str:
    """The first of `wanted` (a page's own locale, then the browser's Accept-Language) whose first
    two letters name a language we have; English otherwise."""
    for candidate in wanted:
        if candidate and candidate[:2].lower() in CATALOGUES:
            return candidate[:2].lower()
    return "en"


class Words:
    """One language's words: `t("status.title")`, `t("connection.shared_warning", count=2)`."""

    def __init__(self, lang: str) -> None:
        self.lang = language(lang)
        self._messages = CATALOGUES[self.lang]

    def __call__(self, key: str, **values: object) -> str:
        text = self._messages[key]
        return text.format(**values) if values else text

    def reason(self, reason: str | None) -> str:
        """Why a connection failed or ended, said to the merchant; "something went wrong" for a
        reason the catalogue does not know."""
        return self._messages.get(f"reason.{reason}", self._messages["reason.unknown"])
