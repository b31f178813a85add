"""The broker addresses a resource numbered with æ, ø or å (issue 22, item 3): a path's
percent-encoding is decoded once, the decoded text validated, and encoded again as e-conomic
writes its self links (docs/external-contracts.md E25); every way out stays refused."""

import httpx
import pytest

from kobling_econ_auth.rest_paths import NotARestPath, parse, url_under
from tests.broker_escapes import ATTACKS, ENCODED_ATTACKS
from tests.unit.test_broker_scopes import World, world  # noqa: F401 (a fixture)


@pytest.mark.parametrize("path", ATTACKS + ENCODED_ATTACKS)
def test_every_way_out_is_refused(path: str) -> None:
    with pytest.raises(NotARestPath):
        parse("GET", path)


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("/products/K%C3%A6de", "/products/K%C3%A6de"),  # Kæde
        ("/products/%c3%b8l-1", "/products/%C3%B8l-1"),  # øl-1: hex in capitals
        ("/products/%C3%85rhus_8_1", "/products/%C3%85rhus_8_1"),  # Århus_1, `_` as `_8_`
        ("/products/My_9_Awesome_9_Product_8_Discount5_3_", None),  # slate's own example
        ("/products/a%CC%8A", "/products/a%CC%8A"),  # å as a + combining ring
        ("/products/A%281%29", "/products/A%281%29"),  # A(1): other punctuation encoded
        ("/products/%5Fx", "/products/_x"),  # `_` need not be encoded
        ("/invoices/%62ooked", "/invoices/booked"),  # a letter need not be either
        ("/customers/42/", None),
        ("/schema/customers.post.schema.json", None),
    ],
)
def test_a_path_is_decoded_once_and_encoded_as_e_conomic_writes_it(
    given: str, sent: str | None
) -> None:
    request = parse("GET", given)
    assert request.path == (sent or given)
    url = url_under("https://restapi.e-conomic.com", request)
    assert url.raw_path == (sent or given).encode()


def test_a_filter_on_a_name_with_ae_o_aa_is_passed_on_encoded() -> None:
    request = parse("GET", "/customers?filter=name$eq:%C3%86bleg%C3%A5rd")
    assert request.query == "filter=name%24eq%3A%C3%86bleg%C3%A5rd"


async def test_e_conomic_is_asked_for_the_product_as_its_self_link_writes_it(
    world: World,  # noqa: F811
) -> None:
    account = await world.connected()
    answer = await world.call(account, "GET", "/products/K%c3%a6de")
    assert (answer.status_code, answer.json()["status"]) == (200, 200)
    assert [r.url.raw_path.removeprefix(b"/economic/api") for r in world.sent] == [
        b"/products/K%C3%A6de"
    ]
    assert world.uses[-1].data.path == "/products/K%C3%A6de"


async def test_a_scope_sees_the_path_as_e_conomic_will(world: World) -> None:  # noqa: F811
    """`%62ooked` is `booked`: sync may draft invoices, never book them."""
    account = await world.connected()
    answer = await world.call(account, "POST", "/invoices/%62ooked")
    assert (answer.status_code, answer.json()["error"]) == (403, "out_of_scope")
    assert world.sent == []


def test_the_url_stays_under_e_conomic_s_api() -> None:
    url = url_under("https://restapi.e-conomic.com/", parse("GET", "/products/%C3%A6"))
    assert url == httpx.URL("https://restapi.e-conomic.com/products/%C3%A6")
