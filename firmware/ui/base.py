"""The feedback sink: one interface for everything the unit tells a person (screen, report)."""

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from firmware.core.lifecycle import Lifecycle

logger = logging.getLogger(__name__)


class FeedbackSink(Lifecycle):
    """Where receipts, guidance and state go; thread-safe, never raises into the caller.

    Every hook funnels into :meth:`show` with an item name and plain fields, so a backend that
    only logs or writes lines overrides one method; a screen backend overrides the hooks it
    draws (receipt, guidance, safe mode) and leaves the rest to :meth:`show`.
    """

    def ready(self, device_id: str, firmware: str) -> None:
        """The daemon is up and recording."""
        self.show("ready", {"device_id": device_id, "firmware": firmware})

    def guidance(self, code: str, text: str) -> None:
        """What the wearer should do better on the next try (``code`` is the message id)."""
        self.show("guidance", {"code": code, "text": text})

    def receipt(self, fields: Mapping[str, Any]) -> None:
        """A check-in's receipt, once its record is committed."""
        self.show("checkin", fields)

    def observe(self, kind: str, fields: Mapping[str, Any]) -> None:
        """State worth showing: a record, a fix, an event, GPS or upload state."""
        self.show(kind, fields)

    def message(self, text: str) -> None:
        """A message for the wearer from the server (a signed command); plain, bounded text."""
        self.show("message", {"text": text})

    def safe_mode(self, reason: str, detail: str, action: str) -> None:
        """The unit runs in safe mode; ``action`` says what a technician must do."""
        self.show("safe_mode", {"reason": reason, "detail": detail, "action": action})

    def summary(self, fields: Mapping[str, Any]) -> None:
        """The daemon's final figures when it stops."""
        self.show("summary", fields)

    def reminder(self, due: datetime) -> None:
        """A scheduled check-in is coming at ``due``."""
        self.show("reminder", {"due": due.isoformat()})

    def prompt(self, closes: datetime, first: bool = True) -> None:
        """Check in now: press the button before ``closes`` (``first``: the window just opened)."""
        if first:
            self.show("prompt", {"closes": closes.isoformat()})

    def capturing(self) -> None:
        """The button was pressed: the capture runs (the wearer holds still)."""
        self.show("capturing", {})

    def show(self, item: str, fields: Mapping[str, Any]) -> None:
        """Present one item; backends implement it."""
        raise NotImplementedError

    def _start(self) -> None:
        return None

    def _stop(self) -> None:
        return None
