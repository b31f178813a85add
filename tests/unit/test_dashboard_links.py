"""Deep links into our app's view in the Stripe Dashboard, in the form Stripe documents
(docs.stripe.com/stripe-apps/deep-links): account, mode, page, then `apps[<id>][<target>]`."""

from urllib.parse import parse_qs, urlsplit

from kobling_shared.links import dashboard_app_url


def test_a_test_mode_link_opens_the_drawer_of_our_app_on_the_accounts_test_dashboard() -> None:
    url = dashboard_app_url("https://dashboard.stripe.com", "com.kobling.app", "acct_1A", False)
    assert url == (
        "https://dashboard.stripe.com/acct_1A/test/dashboard"
        "?apps[com.kobling.app][drawer]=stripe.dashboard.drawer.default"
    )


def test_a_live_mode_link_has_no_mode_segment() -> None:
    url = dashboard_app_url("https://dashboard.stripe.com", "com.kobling.app", "acct_1A", True)
    parts = urlsplit(url)
    assert parts.path == "/acct_1A/dashboard"
    assert parse_qs(parts.query) == {
        "apps[com.kobling.app][drawer]": ["stripe.dashboard.drawer.default"]
    }
