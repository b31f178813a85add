"""One message catalogue per language (shared/src/kobling_shared/messages): the same keys in
each, every key the pages and the Stripe App use is there, and each is used."""

import ast
import re
import string
from pathlib import Path
from typing import get_args

import pytest

from kobling_econ_auth import browser_routes, holds, operator_routes
from kobling_econ_auth import pages as econ_auth_pages
from kobling_econ_auth import routes as econ_auth_routes
from kobling_shared.events import DisconnectedData
from kobling_shared.i18n import CATALOGUES, Words, language

ROOT = Path(__file__).parents[2]
ENGLISH, DANISH = CATALOGUES["en"], CATALOGUES["da"]
# A key as the code spells it: a quoted, dotted name in one of the catalogue's namespaces.
KEY = re.compile(
    r"""["']((?:action|app|confirm|connection|problem|reason|status|sync)\.[a-z_.]+)["']"""
)
SOURCES = [
    path
    for pattern in ("services/*/src/**/*", "shared/src/**/*", "stripe-app/src/**/*")
    for path in ROOT.glob(pattern)
    if path.suffix in {".py", ".html", ".ts", ".tsx"}
]


def keys_in_code() -> set[str]:
    found = {key for path in SOURCES for key in KEY.findall(path.read_text(encoding="utf-8"))}
    return {key for key in found if not key.endswith((".html", ".json", ".py"))}  # file names


def problems_econ_auth_shows() -> set[str]:
    """The kinds econ-auth's routes hand `pages.problem`: as constants, through a name assigned
    from constants, or through CALLBACK_REFUSALS."""
    kinds: set[str] = set()
    modules = (econ_auth_routes, browser_routes, operator_routes)
    trees = [ast.parse(Path(m.__file__ or "").read_text(encoding="utf-8")) for m in modules]
    for function in (node for tree in trees for node in ast.walk(tree)):
        if not isinstance(function, ast.AsyncFunctionDef | ast.FunctionDef):
            continue
        assigned = {
            target.id: node.value
            for node in ast.walk(function)
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for call in ast.walk(function):
            if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "problem":
                kind = call.args[1]
                if isinstance(kind, ast.Subscript):
                    kinds |= set(browser_routes.CALLBACK_REFUSALS.values())
                    continue
                source = assigned.get(kind.id, kind) if isinstance(kind, ast.Name) else kind
                kinds |= {
                    node.value
                    for node in ast.walk(source)
                    if isinstance(node, ast.Constant) and isinstance(node.value, str)
                }
    return kinds


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_english_and_danish_have_the_same_keys_and_placeholders() -> None:
    assert set(ENGLISH) == set(DANISH)
    for key, english in ENGLISH.items():
        assert english.strip() and DANISH[key].strip(), key
        assert placeholders(english) == placeholders(DANISH[key]), key


def test_every_key_the_code_uses_is_in_the_catalogue() -> None:
    used = keys_in_code()
    assert len(used) > 50  # the scan finds the pages' and the app's keys
    # A problem page is named by its prefix: `problem.<name>` has a title and a message.
    missing = {
        key
        for key in used
        if key not in ENGLISH and not {f"{key}.title", f"{key}.message"} <= set(ENGLISH)
    }
    assert missing == set()


def test_every_problem_econ_auth_shows_has_its_words() -> None:
    shown = problems_econ_auth_shows()
    assert {"link_invalid", "other_browser", "cancelled", "no_state", "state_outdated"} <= shown
    assert shown <= set(econ_auth_pages.PROBLEMS)
    for kind in econ_auth_pages.PROBLEMS:
        assert f"problem.{kind}.title" in ENGLISH and f"problem.{kind}.message" in ENGLISH
    assert set(econ_auth_pages.ACTIONS.values()) <= set(ENGLISH)


def test_every_reason_a_connection_can_end_with_is_said() -> None:
    reasons = get_args(DisconnectedData.model_fields["reason"].annotation)
    failures = ("state_invalid", "grant_rejected", "permission_refused", "economic_unavailable")
    for reason in (*reasons, *failures, *holds.REASONS.values()):
        assert f"reason.{reason}" in ENGLISH, reason


def test_every_key_in_the_catalogue_is_used() -> None:
    used = keys_in_code() | {
        f"problem.{kind}.{part}"
        for kind in econ_auth_pages.PROBLEMS
        for part in ("title", "message")
    }
    used |= {f"{key}.{part}" for key in used for part in ("title", "message")}
    unused = {key for key in ENGLISH if key not in used and not key.startswith("reason.")}
    assert unused == set()


@pytest.mark.parametrize(
    ("asked", "accept_language", "expected"),
    [
        (None, "da-DK,da;q=0.9,en;q=0.8", "da"),
        ("da-DK", "en-GB", "da"),
        (None, "en-GB,da;q=0.9", "en"),
        (None, "sv-SE", "en"),
        (None, None, "en"),
    ],
)
def test_the_language_is_the_pages_own_then_the_browsers(asked, accept_language, expected):
    assert language(asked, accept_language) == expected


def test_words_fill_in_values_and_say_something_for_an_unknown_reason() -> None:
    assert "2 anden/andre" in Words("da")("connection.shared_warning", count=2)
    assert Words("da-DK").reason("no_such_reason") == "Noget gik galt."
    assert Words("en").reason(None) == "Something went wrong."
