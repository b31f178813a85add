"""What each reader sees of an account's status: the internal API and the merchant's view."""

from typing import Any

from kobling_status.projection import AccountStatus


def public_view(status: AccountStatus) -> dict[str, Any]:
    """The status JSON DESIGN.md fixes; ordering positions stay inside the read model."""
    return status.model_dump(
        mode="json", exclude={"stripe": {"position"}, "economic": {"sequence"}}
    )


def merchant_view(status: AccountStatus) -> dict[str, Any]:
    """What the merchant's own app view gets: the status JSON without other merchants' account
    ids (a shared agreement says how many others, never who)."""
    view = public_view(status)
    view["economic"]["shared_with_count"] = len(view["economic"].pop("shared_with", []))
    return view
