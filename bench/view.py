"""The Stripe App view opened: signed `POST /api/status` to one status instance, the request the
view sends each time a merchant opens it (a signature check and one read by `_id`).

    make infra && uv run python -m bench.view

Starts install and status in production mode, installs ACCOUNTS accounts, then offers the view's
requests at each rate for SECONDS with vegeta; prints achieved rate and latency. docs/scaling.md
derives the status instance count from it.
"""

import asyncio
import base64
import json
import subprocess

import httpx

from bench.load import Run, say, vegeta_bin
from bench.run import BENCH_APP, ENV, SECRETS, WORK
from kobling_shared.signatures import app_view_payload
from tests.stack import SERVICES, start, stop_all, wait_ready
from tests.stripe_signing import body_of, install_event, new_account, sign

ACCOUNTS = 200
SECONDS = 10
RATES = (500, 0)  # 0: flat out
STATUS = "http://127.0.0.1:8003"


def view_targets(accounts: list[str]) -> str:
    path = WORK / "view-targets.jsonl"
    WORK.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        for account in accounts:
            body = app_view_payload("usr_bench", account, False, "status")
            header = {
                "Stripe-Signature": [sign(body, SECRETS["STRIPE_APP_SECRET"])],
                "Content-Type": ["application/json"],
            }
            target = {
                "method": "POST",
                "url": f"{STATUS}/api/status",
                "body": base64.b64encode(body.encode()).decode(),
                "header": header,
            }
            out.write(json.dumps(target) + "\n")
    return str(path)


def attack(targets: str, rate: int) -> Run:
    say(f"the view at {rate or 'flat out'}/s")
    vegeta = str(vegeta_bin() / "vegeta")
    raw = subprocess.run(
        [
            vegeta,
            "attack",
            "-format=json",
            f"-targets={targets}",
            f"-duration={SECONDS}s",
            f"-rate={rate}",
            "-max-workers=64",
            "-workers=16",
            "-timeout=10s",
        ],
        check=True,
        capture_output=True,
    ).stdout
    encoded = subprocess.run(
        [vegeta, "encode", "--to=json"], input=raw, check=True, capture_output=True
    ).stdout.decode()
    latencies, codes = [], {}
    for line in encoded.splitlines():
        result = json.loads(line)
        latencies.append(result["latency"] / 1e6)
        codes[result["code"]] = codes.get(result["code"], 0) + 1
    return Run(f"view {rate or 'flat out'}", rate, SECONDS, latencies, codes, [])


async def install_all(accounts: list[str]) -> None:
    auth = {"Authorization": f"Bearer {SECRETS['INTERNAL_API_TOKEN']}"}
    async with httpx.AsyncClient(timeout=30) as http:
        for account in accounts:
            body = body_of(install_event(account, app=BENCH_APP))
            headers = {"Stripe-Signature": sign(body, SECRETS["STRIPE_WEBHOOK_SECRET"])}
            sent = await http.post(
                f"{SERVICES['install'].url}/stripe/webhooks", content=body, headers=headers
            )
            assert sent.status_code == 200, sent.text
        for account in accounts:
            while (
                await http.get(f"{STATUS}/v1/accounts/{account}", headers=auth)
            ).status_code != 200:
                await asyncio.sleep(0.05)


def main() -> None:
    services = [SERVICES["install"], SERVICES["status"]]
    try:
        for service in services:
            start(service, ENV)
        for service in services:
            wait_ready(service)
        accounts = [new_account() for _ in range(ACCOUNTS)]
        asyncio.run(install_all(accounts))
        targets = view_targets(accounts)
        for rate in RATES:
            run = attack(targets, rate)
            print(
                f"{run.name}: achieved {run.achieved:.0f}/s, p50 {run.pct(50):.1f} ms, "
                f"p99 {run.pct(99):.1f} ms, non-2xx {run.errors} of {len(run.latencies_ms)}"
            )
    finally:
        stop_all(services)


if __name__ == "__main__":
    main()
