"""The supervisor's logic: inputs, watchdog, gauge and link wired together, free of hardware I/O."""

import debounce
import frame
import gauge
import link
import resetlog
import ticks
import watchdog

STATUS_STRAP_OPEN = 0x01
STATUS_EXTERNAL_POWER = 0x02

# Accepted SET_CONFIG ranges: (min, max) per field; anything else is NACKed with NACK_VALUE.
WATCHDOG_S = (30, 3600)
BATTERY_INTERVAL_S = (10, 65535)
LOW_PERCENT = (1, 50)
MAX_SHUTDOWN_DELAY_S = 600
MAX_WAKE_AFTER_S = watchdog.MAX_WAKE_MS // 1000


class Supervisor:
    """Step it with the current tick and raw input levels; write the frames it returns."""

    def __init__(self, now: int, log: resetlog.ResetLog, boot_cause: int,
                 strap_open: bool = False, external: bool = False) -> None:
        self.log = log
        self.link = link.Link()
        self.watchdog = watchdog.Watchdog(now)
        self.gauge = gauge.Gauge()
        self.strap = debounce.Debouncer(200, strap_open, now)
        self.external = debounce.Debouncer(500, external, now)
        self.button = debounce.Button(now)
        self.uptime_ms = 0
        self.last_step = now
        reason, silence, count, pending = log.load()
        self.count = count
        if not pending:
            reason, silence = boot_cause, 0
        self.reset_report = frame.pack(frame.RESET_REASON, (reason, silence, count))
        self.link.post(frame.RESET_REASON, self.reset_report)
        if strap_open:
            # Cut while nobody was listening (e.g. before this boot): say so as soon as possible.
            self.link.post(frame.TAMPER, frame.pack(frame.TAMPER, (1, 0)))

    @property
    def pi_power(self) -> bool:
        """Level for the Pi's power enable pin."""
        return self.watchdog.power

    def inputs(self, now: int, strap_open: bool, button_down: bool, external: bool) -> None:
        """Feed raw input levels (already converted to their meaning)."""
        self.uptime_ms = (self.uptime_ms + max(0, ticks.diff(now, self.last_step))) & 0xFFFFFFFF
        self.last_step = now
        if self.strap.update(strap_open, now):
            self.link.post(frame.TAMPER, frame.pack(frame.TAMPER, (int(strap_open), self.uptime_ms)))
            if strap_open:
                self._wake(now)  # a sleeping Pi must wake to sign the tamper event
        if self.external.update(external, now):
            self.link.post(frame.POWER, frame.pack(frame.POWER, (int(external),)))
        press = self.button.update(button_down, now)
        if press:
            self.link.post(frame.BUTTON, frame.pack(frame.BUTTON, press))
            self._wake(now)

    def battery(self, now: int, vcell: bytes, soc: bytes) -> None:
        """A fuel-gauge reading (raw VCELL and SOC registers)."""
        self.link.post(frame.BATTERY, frame.pack(frame.BATTERY, self.gauge.reading(now, vcell, soc)))

    def receive(self, now: int, data: bytes) -> list[bytes]:
        """Bytes from the Pi; returns the frames to write back."""
        out, inbox, acked = self.link.receive(data)
        for mtype in acked:
            if mtype == frame.RESET_REASON:
                self.log.save(resetlog.POWER_ON, 0, self.count, 0)
        for mtype, seq, payload in inbox:
            out.append(self._handle(now, mtype, seq, payload))
        return out

    def poll(self, now: int) -> list[bytes]:
        """Run the watchdog and the link; returns frames to write."""
        event = self.watchdog.poll(now)
        if event == watchdog.TRIPPED:
            self.count = (self.count + 1) & 0xFFFF
            self._report(resetlog.WATCHDOG, self.watchdog.last_silence_ms)
        elif event == watchdog.SLEPT:
            self._report(resetlog.REQUESTED, 0)
        if not self.watchdog.power:
            self.link.connected = False
        return self.link.poll(now)

    def status(self) -> int:
        """HEARTBEAT_ACK status flags."""
        flags = STATUS_STRAP_OPEN if self.strap.state else 0
        if self.external.state:
            flags |= STATUS_EXTERNAL_POWER
        return flags

    def _report(self, reason: int, silence_ms: int) -> None:
        # Persist first: if the MCU resets while the Pi is off, the reason still reaches the Pi.
        self.log.save(reason, silence_ms, self.count, 1)
        self.link.post(frame.RESET_REASON, frame.pack(frame.RESET_REASON, (reason, silence_ms, self.count)))

    def _wake(self, now: int) -> None:
        self.watchdog.wake(now)

    def _handle(self, now: int, mtype: int, seq: int, payload: bytes) -> bytes:
        if mtype == frame.HEARTBEAT:
            self.watchdog.heartbeat(now)
            self.link.connected = True
            return self.link.reply(frame.HEARTBEAT_ACK, seq,
                                   frame.pack(frame.HEARTBEAT_ACK, (self.uptime_ms, self.status())))
        if mtype == frame.SET_CONFIG:
            return self._configure(mtype, seq, payload)
        if mtype == frame.SHUTDOWN:
            delay_s, wake_after_s = frame.unpack(mtype, payload)
            if delay_s > MAX_SHUTDOWN_DELAY_S or wake_after_s > MAX_WAKE_AFTER_S:
                return self.link.reply(frame.NACK, seq, bytes((frame.NACK_VALUE,)))
            self.watchdog.shutdown(now, delay_s * 1000, wake_after_s * 1000)
            return self.link.accept(mtype, seq, payload)
        # Anything else is a message the Pi should never send: refuse it as an unknown type.
        return self.link.reply(frame.NACK, seq, bytes((frame.NACK_TYPE,)))

    def _configure(self, mtype: int, seq: int, payload: bytes) -> bytes:
        watchdog_s, interval_s, low = frame.unpack(mtype, payload)
        if not (_within(watchdog_s, WATCHDOG_S) and _within(interval_s, BATTERY_INTERVAL_S)
                and _within(low, LOW_PERCENT)):
            return self.link.reply(frame.NACK, seq, bytes((frame.NACK_VALUE,)))
        self.watchdog.timeout_ms = watchdog_s * 1000
        self.gauge.interval_ms = interval_s * 1000
        self.gauge.low_percent = low
        return self.link.accept(mtype, seq, payload)


def _within(value: int, bounds: tuple[int, int]) -> bool:
    return bounds[0] <= value <= bounds[1]
