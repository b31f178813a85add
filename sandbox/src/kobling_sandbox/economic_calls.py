"""Every call to the pretend e-conomic's REST API, counted per agreement and per (method, path
template), so a test or the benchmark can read "calls per invoice"; and held calls: a test asks
that the next matching call be applied and then left unanswered, kills its caller, and releases
it (the crash windows of issue 24). Ours, not e-conomic's (docs/external-contracts.md E37)."""

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kobling_sandbox.economic import state
from kobling_sandbox.economic_ledger import books_of
from kobling_sandbox.economic_rest import PREFIX

router = APIRouter()
HOLD_CAP_SECONDS = 60.0  # a held call answers at the latest then, released or not


@dataclass
class Hold:
    method: str
    path: str  # a concrete path (`/invoices/booked`) or a template (`/journals/{journal}/vouchers`)
    agreement: int | None  # None: any agreement's call
    id: int = 0
    released: asyncio.Event = field(default_factory=asyncio.Event)
    taken: dict[str, Any] | None = None  # the call it holds, once one came

    def matches(self, method: str, path: str, template: str, agreement: int | None) -> bool:
        return (
            self.taken is None
            and self.method == method
            and self.path in (path, template)
            and self.agreement in (None, agreement)
        )


@dataclass
class CallLog:
    counts: dict[int | None, dict[str, int]] = field(default_factory=dict)
    holds: list[Hold] = field(default_factory=list)
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def count(self, agreement: int | None, method: str, template: str) -> None:
        per = self.counts.setdefault(agreement, {})
        per[f"{method} {template}"] = per.get(f"{method} {template}", 0) + 1


log = CallLog()


class CountAndHold:
    """ASGI middleware around the REST API: lets the endpoint apply its effect, counts the call
    under the agreement the endpoint named (economic_rest.books_for) and the route's template,
    and keeps the answer back while a hold has it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(f"{PREFIX}/"):
            await self.app(scope, receive, send)
            return
        answer: list[Message] = []
        scope.setdefault("state", {})  # shared with the endpoint, which names the agreement

        async def keep(message: Message) -> None:
            answer.append(message)

        await self.app(scope, receive, keep)
        method, path = scope["method"], scope["path"][len(PREFIX) :]
        route = scope.get("route")
        template = getattr(route, "path", PREFIX + path)[len(PREFIX) :]
        agreement = (scope.get("state") or {}).get("agreement")
        log.count(agreement, method, template)
        hold = next((h for h in log.holds if h.matches(method, path, template, agreement)), None)
        if hold is not None:
            status = next((m["status"] for m in answer if m["type"] == "http.response.start"), 0)
            hold.taken = {"method": method, "path": path, "agreement": agreement, "status": status}
            try:
                await asyncio.wait_for(hold.released.wait(), HOLD_CAP_SECONDS)
            except TimeoutError:
                pass
            log.holds.remove(hold)
        for message in answer:
            await send(message)


class HoldRequest(BaseModel):
    method: str = Field(pattern="^(GET|POST|PUT|DELETE|PATCH)$")
    path: str = Field(pattern="^/")  # under the API root, e.g. "/invoices/booked"
    agreement: int | None = None


@router.post("/_sandbox/economic/hold")
async def hold(body: HoldRequest) -> dict[str, Any]:
    """The next matching call is applied, then answered only on release (or after 60 s)."""
    held = Hold(body.method, body.path, body.agreement, id=next(log.ids))
    log.holds.append(held)
    return {"hold": held.id}


@router.get("/_sandbox/economic/held")
async def held() -> dict[str, Any]:
    """The holds, and the call each holds (null: none came yet)."""
    return {
        "held": [
            {
                "hold": h.id,
                "method": h.method,
                "path": h.path,
                "agreement": h.agreement,
                "call": h.taken,
            }
            for h in log.holds
        ]
    }


class Release(BaseModel):
    hold: int | None = None  # None: every hold


@router.post("/_sandbox/economic/release")
async def release(body: Release | None = None) -> dict[str, int]:
    """Answers the held calls (their callers may be gone); holds that caught nothing end."""
    chosen = [h for h in log.holds if body is None or body.hold in (None, h.id)]
    for h in chosen:
        h.released.set()
        if h.taken is None:
            log.holds.remove(h)
    return {"released": len(chosen)}


@router.get("/_sandbox/economic/calls")
async def calls(agreement: int | None = None) -> dict[str, Any]:
    """Every call to /self and to the REST API, when each agreement's valid grant was presented
    to /self, and each agreement's REST calls by "METHOD /path/{template}" (`calls`; under
    "None" the calls no grant opened)."""
    chosen = {agreement: log.counts.get(agreement, {})} if agreement is not None else log.counts
    return {
        "self_calls": state.self_calls,
        "api_calls": state.api_calls,
        "by_agreement": state.self_calls_by_agreement,
        "calls": {str(a): dict(c) for a, c in chosen.items()},
    }


class TimePasses(BaseModel):
    agreement: int
    seconds: float = Field(gt=0, le=7 * 24 * 3600)


@router.post("/_sandbox/economic/time-passes")
async def time_passes(body: TimePasses) -> dict[str, int]:
    """Ages the agreement's Idempotency-Key answers by `seconds`, as if that much time had gone
    by: past e-conomic's hour a repeated key creates again (contracts: Idempotency-Key), which
    is what a crash test needs to reach the marker lookup rather than the cache."""
    books = books_of(body.agreement)
    for key, (at, status, answer, headers) in list(books.answers.items()):
        books.answers[key] = (at - body.seconds, status, answer, headers)
    return {"aged": len(books.answers)}
