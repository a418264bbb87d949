"""The duty-cycled daemon's end of a wake: what it still waits for, the sleep request, the halt.

The daemon asks :meth:`DutyCycle.check` every health round. Once the wake is over it stops the
check-ins and the GPS (nothing new is written), commits a signed ``power`` event with the sleep
it asks for (awake seconds and time to first fix measured this wake), sends the supervisor the
SHUTDOWN frame with the wake time, waits for its acknowledgement, stops the rest as on any stop
and finally runs ``halt_command``; the MCU cuts power ``halt_delay_s`` after the request.
"""

import logging
import subprocess
from pathlib import Path

from fieldcheck_protocol.clock import Clock
from firmware.app.parts import Parts
from firmware.config import PolicySettings
from firmware.services.ledger import Ledger
from firmware.services.power import CHECKIN, WakePlan, WakeSession

logger = logging.getLogger(__name__)

#: Longest wait for the supervisor to acknowledge the SHUTDOWN frame.
ACK_TIMEOUT_S = 10.0
#: Longest the halt command may take.
HALT_TIMEOUT_S = 30.0


class DutyCycle:
    """One wake of a duty-cycled unit, as the daemon runs it."""

    def __init__(self, policy: PolicySettings, clock: Clock,
                 holds: tuple[Path, ...] = ()) -> None:
        self.policy = policy
        self.clock = clock
        #: Files whose presence keeps the unit awake: a bundle queued for the installer
        #: (``offer_update``) and the installer's journal (an install or rollback under way,
        #: its health check included: cutting power then would roll a good bundle back).
        self.holds = holds
        self.session = WakeSession(policy.session_rules(), clock.monotonic())
        self.plan: WakePlan | None = None
        #: Whether :meth:`halt` runs ``halt_command``: only behind an MCU that cuts power.
        self.halting = False

    def check(self, parts: Parts) -> bool:
        """Whether this wake is over; then :attr:`plan` holds the sleep to ask for."""
        mono = self.clock.monotonic()
        if parts.gps is not None and parts.gps.stats().state.has_fix:
            self.session.fixed(mono)
        now = self.clock.now()
        next_due = parts.checkins.tracker.next_wake(now) if parts.checkins is not None else None
        self.plan = self.session.plan(mono, now, self.waiting(parts), next_due)
        return self.plan is not None

    def waiting(self, parts: Parts) -> list[str]:
        """What this wake still waits for: a check-in, a first fix (not when location goes
        only with check-ins, ``location_interval_s = 0``: a check-in waits for its own), a
        queued or running update (its journal).

        Not the upload: every stop ends with a bounded final sync of what is left (the power
        and shutdown records included); what it cannot send waits for the next wake.
        """
        found: list[str] = []
        if parts.checkins is not None and parts.checkins.busy:
            found.append(CHECKIN)
        if any(path.exists() for path in self.holds):
            found.append("update")  # the installer is at work; cutting power would cut it off
        wants_location = self.policy.location_interval_s > 0
        if parts.gps is not None and self.session.ttff_s is None and wants_location:
            found.append("gps_fix")
        return found

    def request_sleep(self, parts: Parts, recorder: Ledger) -> None:
        """Commit the ``power`` event, then ask the supervisor for the timed power cut."""
        plan = self.plan
        assert plan is not None
        details = plan.details()
        if parts.gps is not None:
            details["gps_standby"] = parts.gps.standby_sent
        recorder.event("power", details)
        logger.info("wake over after %.1f s: sleeping %d s (next: %s)", plan.awake_s,
                    plan.wake_after_s, plan.reason)
        parts.supervisor.request_shutdown(self.policy.halt_delay_s, plan.wake_after_s)
        self.halting = parts.supervisor.cuts_power
        if not self.halting:
            logger.info("%s does not cut power: the daemon only exits, it does not halt",
                        parts.supervisor.describe)
        if not parts.supervisor.flush(ACK_TIMEOUT_S):
            logger.error("the supervisor did not acknowledge the shutdown request within %g s; "
                         "the unit stays powered until its watchdog power-cycles it",
                         ACK_TIMEOUT_S)

    def halt(self) -> None:
        """Run ``halt_command`` (nothing when it is empty, or behind a simulated supervisor)."""
        command = list(self.policy.halt_command)
        if not command or not self.halting:
            return
        try:
            subprocess.run(command, check=True, timeout=HALT_TIMEOUT_S)  # noqa: S603 - config
        except (OSError, subprocess.SubprocessError) as err:
            logger.error("halt command %s failed (%s): the supervisor cuts power anyway after "
                         "%d s", " ".join(command), err, self.policy.halt_delay_s)
