"""The server's systemd unit and proxy config agree with the CLI and with each other."""

import shlex
from pathlib import Path

import pytest

from fieldcheck_server.domain.ingest import Limits
from host_tools.cli import build_parser

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "server"


def _unit(name: str = "fieldcheck-server.service") -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for raw in (DEPLOY / name).read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def test_exec_start_is_a_command_the_cli_accepts() -> None:
    argv = shlex.split(_unit()["ExecStart"][0])
    assert argv[0] == "/opt/fieldcheck/venv/bin/fieldcheck"
    args = build_parser().parse_args(argv[1:])  # raises SystemExit on an unknown flag
    assert args.command == "server"
    assert args.host == "127.0.0.1", "the server listens on loopback behind the proxy"
    assert str(args.dir) == _unit()["StateDirectory"][0].join(("/var/lib/", ""))


def test_unit_is_hardened_and_private() -> None:
    unit = _unit()
    for key, value in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                       ("UMask", "0077"), ("StateDirectoryMode", "0700"),
                       ("CapabilityBoundingSet", "")):
        assert unit[key] == [value], key
    assert unit["User"] != ["root"]


def test_proxy_forwards_to_the_port_the_unit_listens_on() -> None:
    argv = shlex.split(_unit()["ExecStart"][0])
    port = argv[argv.index("--port") + 1]
    nginx = (DEPLOY / "nginx.conf").read_text()
    assert f"proxy_pass https://127.0.0.1:{port};" in nginx
    assert f"proxy_pass 127.0.0.1:{port};" in nginx
    assert f"client_max_body_size {Limits().max_bytes // 2**20}m;" in nginx, "the server's limit"


def test_the_server_believes_forwarded_addresses_only_from_the_proxy_in_front() -> None:
    args = build_parser().parse_args(shlex.split(_unit()["ExecStart"][0])[1:])
    assert args.trusted_proxy == ["127.0.0.1"]
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in (DEPLOY / "nginx.conf").read_text()


@pytest.mark.parametrize(("name", "command"), [
    ("fieldcheck-alerts.service", "webhook"), ("fieldcheck-retention.service", "retention")])
def test_the_alert_and_retention_jobs_run_real_commands_on_the_servers_directory(
        name: str, command: str) -> None:
    unit = _unit(name)
    argv = shlex.split(unit["ExecStart"][0])
    args = build_parser().parse_args(argv[1:])  # raises SystemExit on an unknown flag
    assert args.command == command
    assert args.dir == Path("/var/lib/fieldcheck-server")  # the server's own directory
    assert unit["User"] == _unit()["User"] and unit["ProtectSystem"] == ["strict"]
    assert unit["UMask"] == ["0077"] and unit["NoNewPrivileges"] == ["yes"]


def test_the_retention_timer_runs_its_service_daily() -> None:
    timer = (DEPLOY / "fieldcheck-retention.timer").read_text()
    assert "OnCalendar=daily" in timer and "Persistent=true" in timer
