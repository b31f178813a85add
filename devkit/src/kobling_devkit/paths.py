"""Where the checkout is: the devkit runs from the workspace (`uv sync` installs it editable)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "test-artifacts"
