"""Shared helpers for the GPS simulator tests: running the receiver and the CLI, the corpus."""

import random
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pynmea2

from host_tools.gpssim.receiver import Receiver, ReceiverSettings, SimEpoch
from host_tools.gpssim.route import DEFAULT_ROUTE, Route
from host_tools.gpssim.scenario import parse_scenario

REPO = Path(__file__).resolve().parents[3]
CORPUS = REPO.parent / "shared" / "nmea-corpus"
START = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def simulate(scenario: str, seed: int = 7, **settings: object) -> list[SimEpoch]:
    """Every epoch of ``scenario`` on the default route."""
    receiver = Receiver(
        Route(DEFAULT_ROUTE),
        parse_scenario(scenario),
        ReceiverSettings(**settings),  # type: ignore[arg-type]
        START,
        random.Random(seed),
    )
    return list(receiver.epochs())


def parsed(epoch: SimEpoch, kind: str) -> list[pynmea2.NMEASentence]:
    """The epoch's sentences of one type, parsed by pynmea2 with the checksum checked."""
    return [
        pynmea2.parse(line.strip(), check=True)
        for line in epoch.lines
        if line[3:6] == kind
    ]


def start_cli(*args: str) -> subprocess.Popen[str]:
    """``python -m host_tools.gpssim ARGS`` with stdout piped as text."""
    return subprocess.Popen(
        [sys.executable, "-m", "host_tools.gpssim", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
