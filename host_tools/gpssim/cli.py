"""``fieldcheck gps-sim``: command-line options and wiring of the simulated GPS receiver."""

import argparse
import logging
import random
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from fieldcheck_protocol.clock import Clock, SystemClock
from host_tools.gpssim import faults
from host_tools.gpssim.player import Burst, Player
from host_tools.gpssim.receiver import Receiver, ReceiverSettings
from host_tools.gpssim.replay import load_log
from host_tools.gpssim.route import (
    DEFAULT_GEOID_SEPARATION_M,
    DEFAULT_ROUTE,
    Route,
    load_route_file,
    parse_waypoints,
)
from host_tools.gpssim.scenario import describe_segments, parse_scenario
from host_tools.gpssim.sentences import SENTENCE_TYPES
from host_tools.gpssim.transport import PtyTransport, SerialTransport, TcpTransport, Transport

logger = logging.getLogger(__name__)

DEFAULT_SCENARIO = "walk"
BAUD_RATES = (4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)


def _rate(text: str) -> float:
    value = _positive(text)
    if not 1.0 <= value <= 10.0:
        raise argparse.ArgumentTypeError(f"rate {text} Hz is out of range: use 1 to 10 Hz")
    return value


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from err
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a positive number")
    return value


def _non_negative(text: str) -> float:
    return 0.0 if text.strip() in ("0", "0.0") else _positive(text)


def _baud(text: str) -> int:
    if not text.isdigit() or int(text) not in BAUD_RATES:
        raise argparse.ArgumentTypeError(f"baud {text} unsupported; use one of {BAUD_RATES}")
    return int(text)


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number >= 1")
    return int(text)


def _sentences(text: str) -> tuple[str, ...]:
    names = tuple(n.strip().upper() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in SENTENCE_TYPES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown sentence type(s) {unknown}; choose from {','.join(SENTENCE_TYPES)}"
        )
    return names


def _start_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"start time {text!r} is not ISO 8601; write e.g. 2026-11-24T12:00:00Z"
        ) from err
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _tcp_address(text: str) -> tuple[str, int]:
    host, _, port_text = text.rpartition(":")
    if not port_text.isdigit() or int(port_text) > 65535:
        raise argparse.ArgumentTypeError(f"TCP address {text!r} is not [HOST:]PORT")
    return host or "127.0.0.1", int(port_text)


def register(subparsers: Any) -> None:
    """Add the ``gps-sim`` sub-command."""
    p = subparsers.add_parser(
        "gps-sim",
        help="simulated NMEA GPS receiver on a pty, TCP or serial port",
        description=(
            "Simulated NMEA 0183 receiver. The first stdout line names the port: "
            "'PTY /dev/pts/N', 'TCP HOST:PORT' or 'SERIAL DEV'. Exit 0 when the scenario "
            "completes or on SIGTERM/SIGINT; 2 on bad input."
        ),
    )
    _source_options(p.add_argument_group("what to send"))
    _timing_options(p.add_argument_group("timing"))
    _output_options(p)
    p.set_defaults(func=run)


def _source_options(src: argparse._ArgumentGroup) -> None:
    src.add_argument(
        "--scenario",
        help=f"segments name[:seconds],... (default {DEFAULT_SCENARIO}). " + describe_segments(),
    )
    src.add_argument("--waypoints", help="route as 'lat,lon;lat,lon;...' in decimal degrees")
    src.add_argument("--route", type=Path, help="route file: .gpx (trkpt/rtept), .json or .csv")
    src.add_argument("--replay", type=Path, metavar="LOGFILE",
                     help="replay a recorded NMEA log with its original timing")
    src.add_argument("--speed", type=_positive, default=1.4, help="walking speed m/s (1.4)")
    src.add_argument("--noise", type=_non_negative, default=1.5,
                     help="position noise sigma in m (1.5)")
    src.add_argument("--rate", type=_rate, default=1.0, help="epochs per second, 1-10 (1)")
    src.add_argument("--talker", choices=("GP", "GN"), default="GP",
                     help="GP: GPS only, NMEA 2.3; GN: GPS+GLONASS+Galileo, NMEA 4.10 (GP)")
    src.add_argument("--sentences", type=_sentences, default=SENTENCE_TYPES,
                     help="sentence types per epoch (" + ",".join(SENTENCE_TYPES) + ")")
    src.add_argument("--start", type=_start_time, help="UTC start time, ISO 8601 (now)")
    src.add_argument("--seed", type=int, help="random seed for a reproducible run")


def _timing_options(timing: argparse._ArgumentGroup) -> None:
    timing.add_argument("--time-scale", type=_positive, default=1.0,
                        help="simulated seconds per wall second (1)")
    timing.add_argument("--duration", type=_positive,
                        help="stop after this many simulated seconds (stretches the last segment)")
    timing.add_argument("--epochs", type=_count, help="stop after this many epochs")


def _output_options(p: argparse.ArgumentParser) -> None:
    out = p.add_argument_group("where to send").add_mutually_exclusive_group()
    out.add_argument("--pty", action="store_true", help="a pseudo-terminal (the default)")
    out.add_argument("--tcp", type=_tcp_address, metavar="[HOST:]PORT",
                     help="a TCP server on HOST (127.0.0.1); port 0 picks a free one")
    out.add_argument("--serial", metavar="DEV", help="a real serial port")
    p.add_argument("--baud", type=_baud, default=9600, help="line speed for pacing (9600)")
    p.add_argument("--mismatch-baud", type=_baud,
                   help="the receiver's real baud in the baud-mismatch segment "
                        "(115200, or 9600 when --baud is not 9600)")


def run(args: argparse.Namespace, clock: Clock | None = None) -> int:
    """Run the simulator as the options say; returns the exit code."""
    clock = clock or SystemClock()
    bursts = build_bursts(args, clock)  # input errors surface here, before any port opens
    transport = open_transport(args)
    stop = threading.Event()
    restore = _on_signals(stop)
    try:
        print(transport.announce(), flush=True)
        player = Player(transport, clock, stop.wait, args.baud, args.time_scale)
        completed = player.play(bursts)
    finally:
        transport.close()
        restore()
    stats = player.stats
    logger.info(
        "%s: %d epochs, %d bytes, %d late", "done" if completed else "stopped",
        stats.bursts, stats.bytes, stats.late_bursts,
    )
    return 0


def build_bursts(args: argparse.Namespace, clock: Clock) -> Iterator[Burst]:
    """The bursts to play, from a replayed log or the simulated receiver."""
    if args.replay is not None:
        if args.scenario or args.waypoints or args.route:
            raise ValueError("--replay plays a recorded log; drop --scenario/--waypoints/--route")
        log = load_log(args.replay)
        return _limited((Burst(e.offset, e.lines) for e in log), args.epochs, args.duration)
    if args.waypoints and args.route:
        raise ValueError("give either --waypoints or --route, not both")
    if args.route is not None:
        points, geoid = load_route_file(args.route), 0.0
    elif args.waypoints:
        points, geoid = parse_waypoints(args.waypoints), 0.0
    else:
        points, geoid = DEFAULT_ROUTE, DEFAULT_GEOID_SEPARATION_M
    timeline = parse_scenario(args.scenario or DEFAULT_SCENARIO)
    wanted = max(args.duration or 0.0, (args.epochs or 0) / args.rate)
    timeline = timeline.stretched(wanted)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    logger.info("seed %d (pass --seed %d to repeat this run)", seed, seed)
    settings = ReceiverSettings(
        talker=args.talker, rate_hz=args.rate, speed_mps=args.speed, noise_m=args.noise,
        geoid_separation_m=geoid, sentence_types=args.sentences,
    )
    start = args.start or clock.now().replace(microsecond=0)
    route = Route(points)
    if route.length_m == 0:
        logger.warning(
            "the route is one place (%d waypoint%s): the receiver stands still there; give two "
            "or more distinct waypoints to walk", len(points), "" if len(points) == 1 else "s",
        )
    receiver = Receiver(route, timeline, settings, start, random.Random(seed))
    wire = faults.WireSettings(args.baud, args.mismatch_baud or (115200 if args.baud == 9600
                                                                 else 9600))
    fault_rng = random.Random(seed + 1)  # separate, so faults do not change the walk
    sim = (
        Burst(e.offset, tuple(faults.apply(e.slot.segment.fault, list(e.lines), fault_rng, wire)))
        for e in receiver.epochs()
    )
    return _limited(sim, args.epochs, args.duration)


def _limited(bursts: Iterable[Burst], epochs: int | None, seconds: float | None) -> Iterator[Burst]:
    for count, burst in enumerate(bursts):
        if (epochs is not None and count >= epochs) or (
            seconds is not None and burst.offset >= seconds - 1e-9
        ):
            return
        yield burst


def open_transport(args: argparse.Namespace) -> Transport:
    """The pty (default), TCP server or serial port the options name."""
    if args.tcp is not None:
        return TcpTransport(*args.tcp)
    if args.serial is not None:
        return SerialTransport(args.serial, args.baud)
    return PtyTransport(args.baud)


def _on_signals(stop: threading.Event) -> Callable[[], None]:
    """Make SIGTERM/SIGINT request a clean stop; returns a function restoring the handlers."""

    def handler(signum: int, frame: FrameType | None) -> None:
        logger.info("signal %d: stopping", signum)
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signals can only be handled in the main thread
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore
