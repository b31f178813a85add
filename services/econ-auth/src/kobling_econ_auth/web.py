"""What econ-auth's routes share: their dependencies, declared once, and their answer to a
signed request used before."""

from typing import Annotated

from fastapi import Depends, Request

from kobling_econ_auth.deps import Deps
from kobling_shared import openapi
from kobling_shared.openapi import Responses


async def get_deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


DepsDep = Annotated[Deps, Depends(get_deps)]

# A captured signed request cannot act twice (ports.SignatureSpent); the view's next click gets a
# new signature.
SPENT: Responses = {
    409: openapi.problem("`signature_used`: this signed request was already used; nothing changed")
}
SIGNATURE_USED = {
    "error": "signature_used",
    "message": "This request was already used, so nothing changed. Try again from the Kobling "
    "app in your Stripe Dashboard.",
}
