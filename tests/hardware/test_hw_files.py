"""hardware/ documents and OS files parse and agree with each other and the firmware defaults."""

import ast
import csv
import dataclasses
import re
import shlex
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from firmware.config import DEFAULT_PATH, DeviceSettings
from firmware.supervisor.backends import serial as supervisor_serial

HW = Path(__file__).resolve().parents[2] / "hardware"
PINMAP: dict[str, Any] = tomllib.loads((HW / "pinmap.toml").read_text())


def unit_file() -> dict[str, list[tuple[str, str]]]:
    """The systemd unit as section -> [(key, value)], keeping repeated keys."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = ""
    for raw in (HW / "systemd" / "fieldcheck-device.service").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = line.strip("[]")
            sections.setdefault(current, [])
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not a key=value line: {line!r}"
        sections[current].append((key, value))
    return sections


def one(section: list[tuple[str, str]], key: str) -> str:
    values = [v for k, v in section if k == key]
    assert len(values) == 1, f"{key} appears {len(values)} times"
    return values[0]


def config_txt() -> dict[str, list[str]]:
    """config.txt lines per conditional section ([all], [pi4], ...)."""
    sections: dict[str, list[str]] = {"all": []}
    current = "all"
    for raw in (HW / "os" / "config.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            current = line.strip("[]")
            sections.setdefault(current, [])
        else:
            sections[current].append(line)
    return sections


def udev_rules() -> list[dict[str, str]]:
    """Each rule as {KEY+op: value}."""
    rules = []
    for line in (HW / "os" / "99-fieldcheck.rules").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            pairs = re.findall(r'([A-Z]+(?:\{\w+\})?)\s*(==|\+=|=)\s*"([^"]*)"', line)
            rules.append({key + op: value for key, op, value in pairs})
    return rules


def defaults(cls: type) -> dict[str, Any]:
    return {f.name: f.default for f in dataclasses.fields(cls)}


def test_unit_runs_the_console_script_with_the_firmware_default_config() -> None:
    service = unit_file()["Service"]
    argv = shlex.split(one(service, "ExecStart"))
    scripts = tomllib.loads((HW.parent / "pyproject.toml").read_text())["project"]["scripts"]
    assert Path(argv[0]).name in scripts and argv[1] == "run"
    assert argv[argv.index("--config") + 1] == str(DEFAULT_PATH)


def test_unit_may_write_only_the_firmware_data_dir() -> None:
    service = unit_file()["Service"]
    data_dir = defaults(DeviceSettings)["data_dir"]
    assert one(service, "ReadWritePaths") == str(data_dir)
    assert Path("/var/lib") / one(service, "StateDirectory") == data_dir
    assert one(service, "ProtectSystem") == "strict"


def test_unit_is_hardened_and_supervised() -> None:
    sections = unit_file()
    service = sections["Service"]
    expected = {
        "Type": "notify",
        "User": "fieldcheck",
        "NoNewPrivileges": "yes",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "CapabilityBoundingSet": "",
        "Restart": "on-failure",
    }
    assert {key: one(service, key) for key in expected} == expected
    assert int(one(service, "WatchdogSec")) > 0
    assert {"dialout", "video", "gpio"} <= set(one(service, "SupplementaryGroups").split())
    unit = sections["Unit"]
    assert int(one(unit, "StartLimitBurst")) >= 1 and int(one(unit, "StartLimitIntervalSec")) > 0
    assert not any(k.startswith("StartLimit") for k, _ in service)  # ignored in [Service]
    # Keys are generated on the unit into the state directory: private to the service user,
    # and nothing secret is handed in through the environment.
    assert one(service, "StateDirectory") == "fieldcheck"
    assert one(service, "StateDirectoryMode") == "0700"
    assert not [v for k, v in service if k == "Environment" and "KEY" in v.upper()]


def test_mcu_watchdog_outlasts_a_systemd_restart() -> None:
    service = unit_file()["Service"]
    restart_window = sum(
        int(one(service, k)) for k in ("WatchdogSec", "RestartSec", "TimeoutStartSec")
    )
    mcu = defaults(supervisor_serial.Config)
    assert mcu["watchdog_s"] > restart_window
    assert mcu["heartbeat_s"] * 3 <= mcu["watchdog_s"]


def test_config_txt_gives_the_pl011_to_the_gps_and_the_camera_is_detected() -> None:
    common = config_txt()["all"]
    assert "enable_uart=1" in common
    assert {"dtoverlay=disable-bt", "dtoverlay=miniuart-bt"} & set(common)
    assert "camera_auto_detect=1" in common
    assert PINMAP["links"]["gps"]["uart"] == "uart0"
    gps_pins = {p["gpio"] for p in PINMAP["pi"] if p["function"].startswith("UART0")}
    assert gps_pins == {14, 15}


def test_mcu_uart_overlay_matches_the_pin_map() -> None:
    sections = config_txt()
    overlay = PINMAP["links"]["mcu"]["pi4"]
    for board in ("pi4", "cm4"):
        assert f"dtoverlay={overlay}" in sections[board]
    pins = PINMAP["overlays"][overlay]
    used = {p["gpio"]: p["function"] for p in PINMAP["pi"] if "pi4" in p["variants"]}
    assert used[pins["txd"]] == f"{overlay.upper()} TXD"
    assert used[pins["rxd"]] == f"{overlay.upper()} RXD"
    assert PINMAP["links"]["mcu"]["pi02"] == "usb-cdc"
    pps = [line for line in sections["all"] if line.startswith("dtoverlay=pps-gpio")]
    assert pps == ["dtoverlay=pps-gpio,gpiopin=6"] and 6 in used


@pytest.mark.parametrize("variant", ["pi02", "pi4"])
def test_no_pi_pin_is_used_twice(variant: str) -> None:
    pins = [p for p in PINMAP["pi"] if variant in p["variants"]]
    for key in ("gpio", "physical"):
        assert not [n for n, c in Counter(p[key] for p in pins).items() if c > 1], key


def test_mcu_pins_match_main_py_and_are_unique() -> None:
    tree = ast.parse((HW / "mcu" / "main.py").read_text())
    constants = {
        node.targets[0].id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id.startswith("PIN_")
        and isinstance(node.value, ast.Constant)
    }
    assert {p["name"]: p["gpio"] for p in PINMAP["mcu"]} == constants
    assert len(set(constants.values())) == len(constants)
    link_baud = next(
        n.value.value
        for n in tree.body
        if isinstance(n, ast.Assign)
        and getattr(n.targets[0], "id", "") == "LINK_BAUD"
        and isinstance(n.value, ast.Constant)
    )
    assert link_baud == PINMAP["links"]["mcu"]["baud"] == defaults(supervisor_serial.Config)["baud"]


def test_udev_names_match_the_firmware_ports() -> None:
    rules = udev_rules()
    links = {rule["SYMLINK+="] for rule in rules}
    assert links == {"fieldcheck-gps", "fieldcheck-mcu"}
    mcu_port = defaults(supervisor_serial.Config)["port"]
    assert mcu_port == PINMAP["links"]["mcu"]["device"] == "/dev/fieldcheck-mcu"
    groups = {rule["GROUP="] for rule in rules}
    assert groups <= set(one(unit_file()["Service"], "SupplementaryGroups").split())
    assert any(rule.get("ATTRS{idVendor}==") == "2e8a" for rule in rules)  # Raspberry Pi USB id


def test_gps_port_and_baud_agree_with_the_gps_backend_defaults() -> None:
    backend = pytest.importorskip("firmware.gps.backends.serial")
    values = defaults(backend.Config)
    port = next(v for k, v in values.items() if k in ("port", "device", "path"))
    baud = next(v for k, v in values.items() if k in ("baud", "baudrate", "baud_rate"))
    assert (str(port), baud) == (PINMAP["links"]["gps"]["device"], PINMAP["links"]["gps"]["baud"])


def test_bom_is_well_formed_and_covers_every_wired_part() -> None:
    with (HW / "bom.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["part", "maker", "part_number", "quantity", "role"]
        rows = list(reader)
    assert all(row["part"] and row["maker"] and row["part_number"] and row["role"] for row in rows)
    assert all(int(row["quantity"]) >= 1 for row in rows)
    parts = {row["part"] for row in rows}
    assert len(parts) == len(rows)
    wired = {p["part"] for p in PINMAP["pi"] + PINMAP["mcu"]}
    assert wired <= parts, wired - parts


def test_pinmap_markdown_lists_every_pin() -> None:
    text = (HW / "pinmap.md").read_text()
    for pin in PINMAP["pi"]:
        assert re.search(rf"^\| {pin['gpio']} \| {pin['physical']} \|", text, re.M), pin
    for pin in PINMAP["mcu"]:
        assert f"| GP{pin['gpio']} | `{pin['name']}` |" in text
