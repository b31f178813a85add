"""Ways a caller could try to send a grant somewhere other than e-conomic's REST API: each is
refused by the broker (tests/unit/test_rest_paths.py) and calls nothing (integration/test_broker.py)."""

ATTACKS = [
    "https://evil.test/self",
    "http://127.0.0.1:8010/economic/api/self",
    "//evil.test/self",
    "/../self",
    "/customers/../../_sandbox/economic/grants",
    "/customers/%2e%2e/%2e%2e/_sandbox/economic/grants",
    "/customers/..%2f..%2f_sandbox",
    "/customers\\..\\..\\_sandbox",
    "/@evil.test/self",
    "/self@evil.test",
    "/self#fragment",
    "self",
    "/self\r\nHost: evil.test",
    "/self?x=1#y",
    "/./self",
    "/customers//evil.test",
    "javascript:alert(1)",
    "/self?redirect=%0d%0aHost:evil",
    "",
]

# The same, percent-encoded: each decodes (once) to a way out, to a character e-conomic writes as
# `_0_`…`_13_` and never encodes, or to no text at all.
ENCODED_ATTACKS = [
    "/customers/%2E%2E",
    "/customers/a%2Eb",  # an encoded dot: e-conomic writes `_11_`
    "/customers/%252e%252e",  # decoded once: `%2e%2e`, a `%` e-conomic writes `_3_`
    "/customers%2F..%2F..%2F_sandbox",
    "/customers/%5C..%5Cself",
    "/self%3Fx=1",
    "/self%23y",
    "/self%40evil.test",
    "/self%00",
    "/self%0D%0AHost:evil",
    "/products/My%20Product",  # e-conomic writes a space `_9_`
    "/products/a%2Bb",  # and `+` `_13_`
    "/customers/%C0%AE%C0%AE",  # an overlong `.`: not UTF-8
    "/products/%FF",
    "/products/%E2%92%88",  # ⒈ is `1.` in compatibility form
    "/products/%EF%BC%8F..",  # a fullwidth solidus
    "/products/%E2%80%AEevil",  # a right-to-left override (a format character)
    "/products/%C2%A0",  # a no-break space
    "/products/%2",
    "/products/%zz",
]
