import logging
import secrets

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from kobling_install.settings import InstallSettings
from kobling_shared.crypto import InvalidToken, TokenCipher
from kobling_shared.links import BadSignature, LinkSigner, SignatureExpired
from kobling_shared.ops import RedactingFormatter, redact


def test_tokens_round_trip_and_the_ciphertext_hides_them() -> None:
    cipher = TokenCipher(Fernet.generate_key().decode())
    sealed = cipher.encrypt("grant-secret-123")
    assert "grant-secret-123" not in sealed
    assert cipher.decrypt(sealed) == "grant-secret-123"


def test_a_rotated_key_list_reads_old_tokens_and_writes_under_the_new_key() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed_before = TokenCipher(old).encrypt("grant")
    rotated = TokenCipher(f"{new},{old}")
    assert rotated.decrypt(sealed_before) == "grant"
    assert rotated.needs_rotation(sealed_before)
    sealed_after = rotated.encrypt("grant")
    assert not rotated.needs_rotation(sealed_after)
    assert TokenCipher(new).decrypt(sealed_after) == "grant"


def test_a_tampered_ciphertext_is_refused() -> None:
    cipher = TokenCipher(Fernet.generate_key().decode())
    sealed = cipher.encrypt("grant")
    with pytest.raises(InvalidToken):
        cipher.decrypt(sealed[:-4] + "AAAA")


def test_a_link_for_one_purpose_does_not_open_another() -> None:
    token = LinkSigner("k", "status-page").sign({"account_id": "acct_1"})
    assert LinkSigner("k", "status-page").unsign(token, 60) == {"account_id": "acct_1"}
    with pytest.raises(BadSignature):
        LinkSigner("k", "connect").unsign(token, 60)


def test_an_expired_link_is_refused() -> None:
    token = LinkSigner("k", "p").sign({"a": 1})
    with pytest.raises(SignatureExpired):
        LinkSigner("k", "p").unsign(token, -1)


def test_production_refuses_to_start_without_its_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOBLING_ENV", "production")
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_live_x")
    with pytest.raises(ValidationError, match="STRIPE_WEBHOOK_SECRET"):
        InstallSettings()


def test_production_points_at_the_real_parties(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in InstallSettings.required_secrets:
        monkeypatch.setenv(name.upper(), secrets.token_urlsafe(32))
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("STRIPE_BROKER_TOKENS", f"sync:{secrets.token_urlsafe(32)}")
    for name in ("INSTALL", "ECON_AUTH", "STATUS"):
        monkeypatch.setenv(f"{name}_PUBLIC_URL", f"https://{name.lower()}.kobling.example")
    monkeypatch.setenv("KOBLING_ENV", "production")
    settings = InstallSettings()
    assert settings.stripe_api_base == "https://api.stripe.com"
    assert settings.economic_api_url == "https://restapi.e-conomic.com"


def test_log_lines_lose_tokens_codes_and_secrets() -> None:
    line = "GET /economic/callback?state=abc&token=GRANT123 HTTP/1.1 whsec_abc sk_live_zz"
    cleaned = redact(line)
    for secret in ("GRANT123", "abc&", "whsec_abc", "sk_live_zz"):
        assert secret not in cleaned
    # The state now rides in the callback's path.
    cleaned = redact('"GET /economic/callback/St4te-_x?token=GRANT123 HTTP/1.1" 303')
    assert "St4te-_x" not in cleaned and "GRANT123" not in cleaned
    assert "/economic/callback/[redacted]?token=[redacted]" in cleaned
    record = logging.LogRecord("x", logging.INFO, "f", 1, "code=%s", ("ac_secret",), None)
    assert "ac_secret" not in RedactingFormatter().format(record)


def test_a_traceback_in_the_log_loses_its_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    from kobling_shared.ops import configure_logging

    configure_logging("test")
    try:
        raise RuntimeError("GET /economic/connect?link=LINKSECRET&token=GRANT123 whsec_abc")
    except RuntimeError:
        logging.getLogger("kobling.test").exception("request failed")
    written = capsys.readouterr().err
    assert "Traceback" in written and "RuntimeError" in written
    for secret in ("LINKSECRET", "GRANT123", "whsec_abc"):
        assert secret not in written


async def test_an_outgoing_requests_query_never_reaches_the_log(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """httpx logs each request's URL at INFO; the broker's queries name customers (issue 23,
    item 11). The query holds no token, so redaction alone would let it through."""
    import httpx

    from kobling_shared.ops import configure_logging

    configure_logging("test")
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
    async with httpx.AsyncClient(transport=transport) as client:
        query = {"filter": "name$eq:Jane Doe", "email": "jane.doe@example.com"}
        await client.get("https://restapi.e-conomic.com/customers", params=query)
    logging.getLogger("kobling.test").info("the call returned")  # the log itself works
    written = capsys.readouterr().err
    assert "the call returned" in written
    assert "Jane" not in written and "jane.doe" not in written
