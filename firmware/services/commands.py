"""Signed server commands on the unit: verify, refuse, execute, answer.

Commands arrive with an upload answer (on the sync thread). Each one is verified against the
pinned command key, checked against the replay guard (:mod:`firmware.services.command_state`),
remembered durably *before* it runs (a crash never runs it twice), carried out, and answered with
a signed ``command`` event through the ledger, whether it was done or refused.
"""

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from fieldcheck_protocol.clock import Clock
from fieldcheck_protocol.command import (
    MAX_COMMANDS_PER_ANSWER,
    Command,
    CommandError,
    CommandKind,
    Outcome,
    Reason,
    admission,
    answer_details,
    unverified_command,
    verify_command,
)
from fieldcheck_protocol.keyfile import parse_public_key
from firmware.errors import ConfigError, DeviceError
from firmware.services import remote_policy, selftest
from firmware.services.command_state import CommandState
from firmware.services.selftest import Probe

logger = logging.getLogger(__name__)

#: Details of an answer: flat scalars (the event record's ``details`` rules).
Details = dict[str, str | int | float | bool | None]


class Recorder(Protocol):
    """The ledger as the command service sees it."""

    def event(self, kind: str, details: Mapping[str, Any]) -> object:
        """Write and commit a signed event (StoreError when it cannot)."""
        ...


class Action(Protocol):
    """Carries out one kind of command; returns the answer's extra details.

    Raises :class:`CommandRefused` to refuse it (e.g. ``not_supported``), DeviceError on failure.
    """

    def __call__(self, command: Command) -> Details: ...


class CommandRefused(Exception):
    """An action declines a verified command, with a reason."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


def read_command_key(path: Path) -> bytes:
    """The pinned command public key (raw 32 bytes) from ``command.pub`` (PEM) or 64 hex digits."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"[sync] command_key {path} cannot be read: {err.strerror}",
                          "copy command.pub from the server directory (`fieldcheck server "
                          "command-key` shows it) to the unit") from err
    try:
        return parse_public_key(data)
    except ValueError as err:
        raise ConfigError(f"[sync] command_key {path} is {err}",
                          "copy command.pub from the server directory again (`fieldcheck server "
                          "command-key` shows it)") from err


@dataclass(frozen=True)
class Answered:
    """What happened to one delivered command (for logs and tests)."""

    id: str
    seq: int
    outcome: Outcome
    reason: Reason


class CommandService:
    """Verifies, guards, executes and answers the commands an upload answer brings."""

    def __init__(self, key: bytes | None, device_id: str, state: CommandState,
                 recorder: Recorder, clock: Clock,
                 actions: Mapping[CommandKind, Action]) -> None:
        self._key = key
        self._device_id = device_id
        self._state = state
        self._recorder = recorder
        self._clock = clock
        self._actions = dict(actions)
        #: Commands whose re-delivery was already answered ``replayed`` in this run.
        self._replay_answered: set[tuple[str, int]] = set()

    def handle(self, commands: Sequence[bytes]) -> list[Answered]:
        """Answer each command (at most MAX_COMMANDS_PER_ANSWER per call), in the order sent."""
        if len(commands) > MAX_COMMANDS_PER_ANSWER:
            logger.warning("server sent %d commands; taking the first %d", len(commands),
                           MAX_COMMANDS_PER_ANSWER)
        return [self._one(cose) for cose in commands[:MAX_COMMANDS_PER_ANSWER]]

    def _one(self, cose: bytes) -> Answered:
        if self._key is None:
            logger.warning("a command arrived but no command key is pinned: refused (set [sync] "
                           "command_key to the server's command.pub)")
            return self._refuse_unverified(cose, Reason.WRONG_KEY)
        try:
            command = verify_command(cose, self._key)
        except CommandError as err:
            logger.warning("refused a command: %s", err)
            return self._refuse_unverified(cose, err.reason)
        reason = admission(command, self._device_id, self._clock.now(), self._state.highest_seq,
                           self._state.ids, self._state.seqs)
        if reason is Reason.REPLAYED and (command.id, command.seq) in self._replay_answered:
            # The same command again (its answer is not on the server yet): answered once
            # already; answering every upload would feed a loop of new records.
            logger.debug("command %s delivered again; already answered", command.id)
            return Answered(command.id, command.seq, Outcome.REFUSED, reason)
        if reason is not None:
            logger.warning("refused command %s (seq %d, %s): %s", command.id, command.seq,
                           command.kind.value, reason.value)
            if reason is Reason.REPLAYED:
                self._replay_answered.add((command.id, command.seq))
            else:
                self._state.remember(command.id, command.seq, executed=False)
            return self._answer(command.id, command.seq, Outcome.REFUSED, reason,
                                {"kind": command.kind.value})
        # Durable before it runs: a crash during the action never runs it a second time.
        self._state.remember(command.id, command.seq, executed=True)
        return self._execute(command)

    def _execute(self, command: Command) -> Answered:
        extra: Details = {"kind": command.kind.value}
        action = self._actions.get(command.kind)
        try:
            if action is None:
                raise CommandRefused(Reason.NOT_SUPPORTED, "this firmware cannot do it yet")
            extra.update(action(command))
        except CommandRefused as refusal:
            logger.info("command %s (%s) refused: %s", command.id, command.kind.value, refusal)
            if refusal.detail:
                extra["detail"] = refusal.detail[:200]
            return self._answer(command.id, command.seq, Outcome.REFUSED, refusal.reason, extra)
        except DeviceError as err:
            logger.error("command %s (%s) failed: %s", command.id, command.kind.value, err)
            extra["detail"] = str(err)[:200]
            return self._answer(command.id, command.seq, Outcome.REFUSED, Reason.FAILED, extra)
        logger.info("command %s (%s, seq %d) done", command.id, command.kind.value, command.seq)
        return self._answer(command.id, command.seq, Outcome.DONE, Reason.OK, extra)

    def _refuse_unverified(self, cose: bytes, reason: Reason) -> Answered:
        # Name the command by what it claims (the server matches id, seq and unit), never run it.
        claimed = unverified_command(cose)
        command_id = claimed.id if claimed is not None else "unreadable"
        seq = claimed.seq if claimed is not None else 0
        return self._answer(command_id, seq, Outcome.REFUSED, reason, {})

    def _answer(self, command_id: str, seq: int, outcome: Outcome, reason: Reason,
                extra: Details) -> Answered:
        self._recorder.event("command", answer_details(command_id, seq, outcome, reason, extra))
        return Answered(command_id, seq, outcome, reason)


def message_action(show: Callable[[str, str], None]) -> Action:
    """``message``: hand the text to the feedback sink (``show(command_id, text)``)."""

    def run(command: Command) -> Details:
        show(command.id, str(command.args["text"]))
        return {"chars": len(str(command.args["text"]))}

    return run


def checkin_action(request: Callable[[], bool] | None) -> Action:
    """``checkin_now``: ask the check-in worker for a remote check-in (None: check-ins off)."""

    def run(command: Command) -> Details:
        if request is None:
            raise CommandRefused(Reason.FAILED, "check-ins are off (safe mode)")
        return {"queued": request()}  # False: one was already waiting; it answers this too

    return run


class UpdateTaker(Protocol):
    """Fetches, verifies and queues an offered bundle; returns the answer's details.

    Raises :class:`CommandRefused` for a bundle it refuses, DeviceError when fetching fails.
    """

    def __call__(self, url: str, sha256: str) -> Details: ...


def offer_update_action(take: UpdateTaker | None = None) -> Action:
    """``offer_update``: hand the URL and sha256 to ``take``; None (no bundle root key pinned,
    or no HTTPS server) refuses it ``not_supported``."""

    def run(command: Command) -> Details:
        if take is None:
            raise CommandRefused(Reason.NOT_SUPPORTED, "no bundle root key is pinned on this "
                                 "unit (/etc/fieldcheck/bundle-root.pub)")
        return take(str(command.args["url"]), str(command.args["sha256"]))

    return run


def selftest_action(probes: Mapping[str, Probe]) -> Action:
    """``selftest``: run every probe (:mod:`firmware.services.selftest`, the same checks as
    ``fieldcheck-device selftest``) and report each; a failing probe never stops the others."""

    def run(command: Command) -> Details:
        return selftest.details(selftest.run_all(probes))

    return run


#: Checks policy changes against the whole config; returns the problems they would cause.
PolicyCheck = Callable[[Mapping[str, remote_policy.Value]], list[str]]
#: Applies stored changes to the running unit where that is safe; returns what it did, for the
#: event (``applies``: ``now``, ``next_start`` or ``now_and_next_start``, ...).
LiveApply = Callable[[Mapping[str, remote_policy.Value]], Mapping[str, str]]


def _next_start(changes: Mapping[str, remote_policy.Value]) -> Mapping[str, str]:
    return {"applies": "next_start"}


def set_policy_action(data_dir: Path, allowed: tuple[str, ...], check: PolicyCheck,
                      recorder: Recorder, apply_now: LiveApply = _next_start) -> Action:
    """``set_policy``: only keys the config lets the server change, only values the config
    check accepts; kept in the data directory, followed by a signed ``config_change`` event.
    ``apply_now`` applies them to the running unit where safe; the rest (and everything with
    the default) takes effect at the daemon's next start."""

    def run(command: Command) -> Details:
        changes: dict[str, remote_policy.Value] = dict(command.args["changes"])
        refused = sorted(key for key in changes if key not in allowed)
        if refused:
            raise CommandRefused(Reason.NOT_ALLOWED,
                                 f"not in [sync] remote_keys: {', '.join(refused)}")
        merged = {**remote_policy.load(data_dir), **changes}
        problems = check(merged)
        if problems:
            raise CommandRefused(Reason.INVALID_VALUE, "; ".join(problems))
        remote_policy.save(data_dir, merged)
        keys = ",".join(sorted(changes))[:200]
        applied = {k: v[:200] for k, v in apply_now(changes).items()}
        recorder.event("config_change", {"source": "command", "command": command.id,
                                         "keys": keys, **applied})
        return {"keys": keys, **applied}

    return run
