"""The feedback sink for a screen: turns the unit's hooks into screens and cues for the wearer.

Backends (bench PNGs, console lines, the OLED with LED and buzzer) only implement
:meth:`ScreenSink.present` and :meth:`ScreenSink.signal`. The sink keeps what the idle screen
shows (next check-in, battery, GPS, records not yet acknowledged) from what it observes, and the
last ten receipts, paged with a long press of the button.
"""

import logging
import threading
from collections import deque
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fieldcheck_protocol.clock import Clock, SystemClock
from fieldcheck_protocol.wire import ErrorCode
from firmware.core.settings import SettingsError
from firmware.errors import ConfigError
from firmware.locale.catalog import LANGUAGES, CatalogueError, Translator, translator
from firmware.ui import layout, screens
from firmware.ui.base import FeedbackSink
from firmware.ui.patterns import Cue
from firmware.ui.screens import Contact, IdleState, Screen

logger = logging.getLogger(__name__)

#: How many receipts the wearer can page back through.
RECEIPTS_KEPT = 10
#: Guidance codes the wearer cannot fix: the receipt is followed by "contact your officer".
CONTACT_AFTER: Mapping[str, Contact] = {
    "not_enrolled": Contact.NOT_ENROLLED,
    "template_invalid": Contact.FAULT,
    "face_engine_fault": Contact.FAULT,
    "camera_fault": Contact.FAULT,
}
LOW_BATTERY = frozenset({"low", "critical"})


def check_language(language: str) -> None:
    """Refuse a ``[ui] language`` without a catalogue (config validation, with the choices)."""
    if language not in LANGUAGES:
        raise SettingsError(f"[ui] language = {language!r} has no catalogue; choose one of "
                            f"{', '.join(sorted(LANGUAGES))}")


def words_for(language: str) -> Translator:
    """The wearer's catalogue; ConfigError when its compiled file is missing."""
    try:
        return translator(language)
    except CatalogueError as err:
        raise ConfigError(f"[ui] {err}", "reinstall the firmware (its catalogues are "
                          "missing) or run `make locale`") from err


class ScreenSink(FeedbackSink):
    """Draws screens in the wearer's language; thread-safe; a drawing failure is only logged."""

    def __init__(self, words: Translator, clock: Clock | None = None) -> None:
        self.words = words
        self._clock = clock or SystemClock()
        self._lock = threading.RLock()
        self.receipts: deque[Mapping[str, Any]] = deque(maxlen=RECEIPTS_KEPT)
        self._page = 0
        self._last_seq: int | None = None
        self._acked_seq: int | None = None
        self._state = IdleState(now=self._clock.now())
        self.revoked = False
        self.current: Screen | None = None

    # --- what backends implement ------------------------------------------------------------

    def present(self, screen: Screen) -> None:
        """Put ``screen`` on the display (it has been laid out and fits)."""
        raise NotImplementedError

    def signal(self, cue: Cue) -> None:
        """Play ``cue`` on the buzzer and LED; a unit without them ignores it."""
        return None

    # --- the hooks ----------------------------------------------------------------------------

    def ready(self, device_id: str, firmware: str) -> None:
        """The daemon is up: the idle screen."""
        self._draw(self._idle())

    def reminder(self, due: datetime) -> None:
        """A scheduled check-in is coming at ``due``."""
        self._draw(screens.reminder(self.words, due), Cue.REMINDER)

    def prompt(self, closes: datetime, first: bool = True) -> None:
        """Check in now: the window closes at ``closes`` (``first``: play the cue)."""
        left = (closes - self._clock.now()).total_seconds()
        self._draw(screens.prompt(self.words, left), Cue.PROMPT if first else None)

    def capturing(self) -> None:
        """The capture started: hold still."""
        self._draw(screens.capture(self.words))

    def guidance(self, code: str, text: str) -> None:
        """What to do before the next try, in the wearer's language (``text`` is English)."""
        self._draw(screens.capture(self.words, code), Cue.RETRY)

    def receipt(self, fields: Mapping[str, Any]) -> None:
        """The committed check-in: its receipt, or "contact your officer" when it cannot help."""
        with self._lock:
            self.receipts.appendleft(dict(fields))
            self._page = 0
            self._last_seq = max(self._last_seq or 0, int(fields["seq"]))
        if self.revoked:  # never "thank you" from a unit the server no longer accepts
            self._draw(screens.contact_officer(self.words, Contact.REVOKED), Cue.ATTENTION)
            return
        contact = CONTACT_AFTER.get(str(fields.get("guidance")))
        self._draw(screens.result(self.words, fields),
                   Cue.SUCCESS if contact is None else None)
        if contact is not None:  # recorded, and the unit needs the officer's help
            self._draw(screens.contact_officer(self.words, contact), Cue.ATTENTION)

    def message(self, text: str) -> None:
        """A message from the officer (long ones are paged by the layout)."""
        self._draw(screens.officer_message(self.words, text), Cue.ATTENTION)

    def safe_mode(self, reason: str, detail: str, action: str) -> None:
        """The unit cannot take check-ins: contact the officer."""
        logger.info("safe mode shown to the wearer as 'contact your officer' (%s)", reason)
        self._draw(screens.contact_officer(self.words, Contact.FAULT), Cue.ATTENTION)

    def observe(self, kind: str, fields: Mapping[str, Any]) -> None:
        """Keep the idle state; page receipts on a long press; warn of a low battery."""
        handler = {"record": self._on_record, "upload": self._on_upload, "gps": self._on_gps,
                   "event": self._on_event, "button": self._on_button,
                   "schedule": self._on_schedule}.get(kind)
        if handler is not None:
            handler(fields)

    def show(self, item: str, fields: Mapping[str, Any]) -> None:
        """Items without a screen (summary, ...) are only logged."""
        logger.debug("no screen for %s", item)

    def page(self) -> None:
        """Show the next older receipt (wraps round); nothing without receipts."""
        with self._lock:
            if not self.receipts:
                return
            index = self._page % len(self.receipts)
            self._page = index + 1
            receipt, total = self.receipts[index], len(self.receipts)
        self._draw(screens.result(self.words, receipt, index + 1, total))

    # --- state --------------------------------------------------------------------------------

    def _on_record(self, fields: Mapping[str, Any]) -> None:
        with self._lock:
            self._last_seq = max(self._last_seq or 0, int(fields["seq"]))
            self._state = self._with(to_send=self._pending())

    def _on_upload(self, fields: Mapping[str, Any]) -> None:
        revoked = ErrorCode.DEVICE_REVOKED.value in str(fields.get("last_error", ""))
        with self._lock:
            self._acked_seq = fields.get("acked_seq")
            self._state = self._with(to_send=self._pending())
            became_revoked, self.revoked = revoked and not self.revoked, revoked
        if became_revoked:
            self._draw(screens.contact_officer(self.words, Contact.REVOKED), Cue.ATTENTION)

    def _on_gps(self, fields: Mapping[str, Any]) -> None:
        with self._lock:
            self._state = self._with(gps_ok=fields.get("state") in ("2d", "3d"))

    def _on_event(self, fields: Mapping[str, Any]) -> None:
        if fields.get("event") != "battery":
            return
        percent = fields.get("percent")
        with self._lock:
            self._state = self._with(battery_percent=None if percent is None else int(percent))
        if fields.get("level") in LOW_BATTERY and percent is not None:
            self._draw(screens.battery_low(self.words, int(percent)), Cue.ATTENTION)

    def _on_button(self, fields: Mapping[str, Any]) -> None:
        if fields.get("press") == "long":
            self.page()

    def _on_schedule(self, fields: Mapping[str, Any]) -> None:
        due = fields.get("next_due")
        with self._lock:
            self._state = self._with(
                next_due=datetime.fromisoformat(due) if isinstance(due, str) else due)

    def _pending(self) -> int:
        if self._last_seq is None:
            return 0
        return self._last_seq - (self._acked_seq if self._acked_seq is not None else -1)

    def _with(self, **changes: Any) -> IdleState:
        current = self._state
        values = {"now": current.now, "next_due": current.next_due,
                  "battery_percent": current.battery_percent, "gps_ok": current.gps_ok,
                  "to_send": current.to_send, **changes}
        return IdleState(**values)

    def _idle(self) -> Screen:
        with self._lock:
            self._state = self._with(now=self._clock.now())
            return screens.idle(self.words, self._state)

    def idle(self) -> None:
        """Back to the idle screen (after a receipt has been read)."""
        self._draw(self._idle())

    def _draw(self, screen: Screen, cue: Cue | None = None) -> None:
        """Lay out and present ``screen`` (pages of a long one in turn), then play ``cue``."""
        try:
            for page in layout.pages(screen):
                with self._lock:
                    self.current = page
                    self.present(page)
        except (layout.LayoutError, OSError) as err:
            logger.error("the %s screen could not be shown: %s", screen.name, err)
        if cue is not None:
            try:
                self.signal(cue)
            except OSError as err:
                logger.error("the %s cue could not be played: %s", cue.value, err)
