"""What econ-auth's routes share: their dependencies, declared once."""

from typing import Annotated

from fastapi import Depends, Request

from kobling_econ_auth.deps import Deps


async def get_deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


DepsDep = Annotated[Deps, Depends(get_deps)]
