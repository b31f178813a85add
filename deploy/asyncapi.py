"""Writes docs/asyncapi/<service>.json from the code: `uv run python deploy/asyncapi.py`.
tests/integration/test_asyncapi.py fails when a running service serves anything else."""

import json
from pathlib import Path

from fastapi.testclient import TestClient

from kobling_econ_auth.app import create_app as econ_auth
from kobling_install.app import create_app as install
from kobling_status.app import create_app as status
from kobling_sync.app import create_app as sync

DOCS = Path(__file__).resolve().parents[1] / "docs" / "asyncapi"


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    for name, create in (
        ("install", install),
        ("econ-auth", econ_auth),
        ("status", status),
        ("sync", sync),
    ):
        # No lifespan: the route answers without Kafka or a database.
        doc = TestClient(create()).get("/asyncapi.json").json()
        (DOCS / f"{name}.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        print(f"wrote docs/asyncapi/{name}.json: {', '.join(sorted(doc['channels']))}")


if __name__ == "__main__":
    main()
