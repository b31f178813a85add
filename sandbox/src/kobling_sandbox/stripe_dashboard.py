"""How the pretend Dashboard writes amounts and lists an account's invoices."""

from kobling_sandbox import stripe_money as money
from kobling_sandbox.stripe_objects import ledger_of


def shown(amount: int, currency: str) -> str:
    """An amount as the Dashboard writes it: 1,250.00 DKK; ¥1000 as 1,000 JPY."""
    places = money.exponent(currency)
    return f"{money.major(amount, currency):,.{places}f} {currency.upper()}"


def invoice_rows(account: str, livemode: bool) -> list[dict[str, str]]:
    """The Dashboard's invoice list, newest first, each linking to its page."""
    mode = "" if livemode else "/test"
    return [
        {
            "number": i["number"],
            "customer": i["customer_name"],
            "status": i["status"],
            "total": shown(i["total"], i["currency"]),
            "url": f"/dashboard/{account}{mode}/invoices/{i['id']}",
        }
        for i in ledger_of(account, livemode).of("invoice")
    ]
