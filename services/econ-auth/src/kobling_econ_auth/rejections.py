"""Whether e-conomic's 401s are about the grants or about us: pure, no I/O.

e-conomic answers 401 for a revoked grant, and just the same for a wrong or reset app secret
token or an outage of its own authentication. One merchant removing the app is one 401 among many
valid answers; our own secret going bad is most answers turning 401 at once. While that is what
we see, a 401 proves nothing about any one grant: no revocation strike counts, and nothing is
deleted. Only answers about grants that once worked feed it (the grant check, the broker): a
token a browser brings to the callback is unproven, and anyone can bring garbage.

Each grant counts once, by its latest answer: one revoked grant asked three times (the broker's
revocation strikes) is one merchant, not three, and on a quiet day it would otherwise outnumber
the few grants that answered well and start a wave by itself, so that the revocation is withheld.
"""

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

WaveChange = Literal["began", "ended"]


@dataclass
class RejectionWave:
    """The latest answer e-conomic gave about each of the `recent` grants heard from last, none
    older than `window`. A wave is at least `min_answers` grants with more than `share` of them
    rejected."""

    window: timedelta = timedelta(hours=1)
    recent: int = 20
    min_answers: int = 5
    share: float = 0.5
    _answers: OrderedDict[str, tuple[datetime, bool]] = field(default_factory=OrderedDict)
    _in_wave: bool = False

    def record(self, at: datetime, rejected: bool, grant: str) -> WaveChange | None:
        """Takes one answer about `grant` (a 401 is `rejected`; a grant accepted is not; anything
        else says nothing about grants and is not recorded), in place of that grant's earlier
        one; answers whether a wave began or ended."""
        self._answers.pop(grant, None)
        self._answers[grant] = (at, rejected)
        while len(self._answers) > self.recent:
            self._answers.popitem(last=False)
        return self._settle(at)

    @property
    def in_wave(self) -> bool:
        """Whether most grants are being refused at once: suspect our own secret."""
        return self._in_wave

    def settle(self, at: datetime) -> WaveChange | None:
        """Forgets answers older than the window; answers whether that ended a wave."""
        return self._settle(at)

    def _settle(self, at: datetime) -> WaveChange | None:
        while self._answers and next(iter(self._answers.values()))[0] < at - self.window:
            self._answers.popitem(last=False)
        rejected = sum(1 for _, refused in self._answers.values() if refused)
        in_wave = len(self._answers) >= self.min_answers and rejected > self.share * len(
            self._answers
        )
        if in_wave == self._in_wave:
            return None
        self._in_wave = in_wave
        return "began" if in_wave else "ended"
