"""The Stripe broker's allow-list (issue 24): the reads the sync needs and nothing else. The install's
token goes wherever the request goes, so anything not written exactly as listed is refused, never
cleaned."""

import pytest

from kobling_install.stripe_paths import NotAllowed, allowed

ACCEPTED = [
    "/v1/invoices/in_1NvAbc2eZvKYlo2C",
    "/v1/invoices/in_1Nv/lines",
    "/v1/invoices/in_1Nv/lines?limit=100&starting_after=il_1Nv",
    "/v1/invoice_payments?invoice=in_1Nv",
    "/v1/invoice_payments?invoice=in_1Nv&limit=10&starting_after=inpay_1Nv"
    "&expand[]=data.payment.payment_intent&expand[]=data.payment.charge",
    "/v1/customers/cus_Nv1",
    "/v1/charges/ch_3Nv",
    "/v1/charges/ch_3Nv?expand[]=balance_transaction",
    "/v1/payment_intents/pi_3Nv?expand[]=latest_charge",
    "/v1/payouts/po_1Nv",
    "/v1/balance_transactions?payout=po_1Nv",
    "/v1/balance_transactions?payout=po_1Nv&limit=100&starting_after=txn_1Nv&expand[]=data.source",
    "/v1/balance_transactions/txn_1Nv",
    "/v1/refunds/re_3Nv",
    "/v1/credit_notes?invoice=in_1Nv",
    "/v1/credit_notes?invoice=in_1Nv&limit=100&starting_after=cn_1Nv",
    "/v1/account",
]


@pytest.mark.parametrize("path", ACCEPTED)
def test_each_listed_read_is_allowed(path: str) -> None:
    read = allowed("GET", path)
    assert read.path == path.partition("?")[0]
    assert read.query == path.partition("?")[2]


def test_a_read_keeps_its_page_size_for_the_audit() -> None:
    assert allowed("GET", "/v1/balance_transactions?payout=po_1&limit=100").limit == 100
    assert allowed("GET", "/v1/invoices/in_1/lines").limit is None


@pytest.mark.parametrize(
    "path",
    [
        # out of the listed path: traversal, encoded or not
        "/v1/invoices/../account",
        "/v1/invoices/in_1/../../account",
        "/v1/invoices/./in_1",
        "/v1/invoices/%2e%2e/account",
        "/v1/invoices/%2E%2E/account",
        "/v1/invoices/in_1%2F..%2Faccount",
        "/v1/invoices/in_1%2faccount",
        "/v1/invoices/in_1%252e",
        "/v1/invoices/in_1%00",
        "/v1/invoices/in_1\\..\\account",
        "/v1//invoices/in_1",
        "/v1/invoices/in_1/",
        "/v1/invoices/in_1?",
        "/v1/invoices/in_1#fragment",
        "/v1/invoices/in_1;x=1",
        # somewhere else altogether
        "https://evil.example/v1/account",
        "http://api.stripe.com/v1/account",
        "//evil.example/v1/account",
        "///evil.example/v1/account",
        "/v1/account@evil.example",
        "@evil.example/v1/account",
        "v1/account",
        "",
        # what the sync does not read: lists of everything, writes, OAuth
        "/v1/invoices",
        "/v1/customers",
        "/v1/charges",
        "/v1/payouts",
        "/v1/balance_transactions",
        "/v1/credit_notes",
        "/v1/invoice_payments",
        "/v1/oauth/token",
        "/v1/oauth/deauthorize",
        "/v1/invoices/in_1/pay",
        "/v1/invoices/in_1/void",
        "/v1/refunds?charge=ch_1",
        "/v2/core/events",
        "/V1/account",
        "/v1/Account",
        # an id of another object, or not an id
        "/v1/invoices/cus_1",
        "/v1/customers/in_1",
        "/v1/invoices/in_",
        "/v1/invoices/in-1",
        "/v1/invoices/in_1.json",
        "/v1/invoices/in_" + "a" * 300,
        "/v1/invoices/in_\uff11",  # a fullwidth digit
        "/v1/invoices/in_\u0661",  # an Arabic-Indic digit
        # spaces and controls
        " /v1/account",
        "/v1/account ",
        "/v1/account\n",
        "/v1/account\r\nHost: evil.example",
        "/v1/account%0a",
        "/v1/account\t",
    ],
)
def test_anything_else_is_refused(path: str) -> None:
    with pytest.raises(NotAllowed):
        allowed("GET", path)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/account?x=1",
        "/v1/customers/cus_1?expand[]=invoice_settings.default_payment_method",
        "/v1/invoices/in_1?expand[]=payments",
        "/v1/invoices/in_1/lines?ending_before=il_1",
        "/v1/invoices/in_1/lines?limit=10&foo=bar",
        "/v1/invoices/in_1/lines?limit=0",
        "/v1/invoices/in_1/lines?limit=101",
        "/v1/invoices/in_1/lines?limit=-1",
        "/v1/invoices/in_1/lines?limit=05",
        "/v1/invoices/in_1/lines?limit=1e2",
        "/v1/invoices/in_1/lines?limit=+5",
        "/v1/invoices/in_1/lines?limit=10&limit=20",
        "/v1/invoices/in_1/lines?limit=",
        "/v1/invoices/in_1/lines?limit",
        "/v1/invoices/in_1/lines?limit=10&",
        "/v1/invoices/in_1/lines?&limit=10",
        "/v1/invoices/in_1/lines?limit=10&&starting_after=il_1",
        "/v1/invoices/in_1/lines?limit=10=10",
        "/v1/invoices/in_1/lines?starting_after=il_1%26payout%3Dpo_2",
        "/v1/invoices/in_1/lines?starting_after=../../account",
        "/v1/invoice_payments?invoice=in_1&invoice=in_2",
        "/v1/invoice_payments?invoice=cus_1",
        "/v1/invoice_payments?limit=10",  # whose payments? all of the account's
        "/v1/invoice_payments?invoice=in_1&expand[]=data.payment.payment_intent.customer",
        "/v1/invoice_payments?invoice=in_1&expand%5B%5D=data.payment.charge",
        "/v1/invoice_payments?invoice=in_1&expand[0]=data.payment.charge",
        "/v1/invoice_payments?invoice=in_1&expand=data.payment.charge",
        "/v1/charges/ch_1?expand[]=customer",
        "/v1/charges/ch_1?expand[]=balance_transaction&expand[]=balance_transaction&expand[]=x",
        "/v1/payment_intents/pi_1?expand[]=payment_method",
        "/v1/balance_transactions?payout=po_1&payout=po_2",
        "/v1/balance_transactions?payout=po_1&type=charge",
        "/v1/balance_transactions?payout=po_1&expand[]=data.source.customer",
        "/v1/balance_transactions?source=ch_1",
        "/v1/credit_notes?customer=cus_1",
        "/v1/credit_notes?invoice=in_1&expand[]=data.refunds",
    ],
)
def test_a_query_beyond_the_listed_parameters_is_refused(path: str) -> None:
    with pytest.raises(NotAllowed):
        allowed("GET", path)


@pytest.mark.parametrize("method", ["POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS", "get", ""])
def test_only_get_is_sent(method: str) -> None:
    with pytest.raises(NotAllowed):
        allowed(method, "/v1/account")
