"""The sandbox's e-conomic behaves as integrators observe the real one (docs/external-contracts.md)."""

from kobling_sandbox.economic import with_token


def test_the_grant_page_appends_token_with_a_question_mark_or_an_ampersand() -> None:
    assert with_token("http://a.test/economic/callback/St4te", "T0k") == (
        "http://a.test/economic/callback/St4te?token=T0k"
    )
    assert with_token("http://a.test/settings?page=economic&tab=1", "T0k") == (
        "http://a.test/settings?page=economic&tab=1&token=T0k"
    )
