"""FerretDB comes back after a restart, whatever was dropped while it ran (issue 21).

A database dropped between the index mender's glob and its open used to come back as an empty
file, and FerretDB 1.24 then refused to start beside it ("no such table: _ferretdb_collections")."""

import subprocess
import time
import uuid

from pymongo import MongoClient

from kobling_devkit.paths import ROOT
from tests.faults.conftest import DATABASE_URL, RUN_DIR, down


def test_the_runner_own_tests_pass() -> None:
    """main_test.go: the mender never creates a dropped file (fails on the old mender), drops
    raced against it leave nothing, and the start check sets empty files aside and names the
    files it cannot open."""
    ran = subprocess.run(
        [str(ROOT / "deploy/local/ferretdb.sh"), "selftest"], capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]


def test_databases_dropped_while_the_mender_runs_do_not_stop_a_restart() -> None:
    prefix = f"test_dropped_{uuid.uuid4().hex[:8]}"
    names = [f"{prefix}_{n}" for n in range(10)]
    client: MongoClient = MongoClient(DATABASE_URL)
    try:
        # Three of the mender's two-second rounds, each with databases made and dropped in it.
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            for name in names:
                client[name]["things"].insert_one({"_id": 1})
            for name in names:
                client.drop_database(name)
    finally:
        client.close()
    with down("ferretdb"):
        pass  # `down` fails this test, saying what it saw, unless FerretDB came back
    left = sorted(p.name for p in (RUN_DIR / "ferretdb").rglob(f"{prefix}_*"))
    assert left == [], f"dropped databases left files behind: {left}"
