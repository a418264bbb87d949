"""The screen sink through its backends: bench PNGs, console lines, the OLED on luma's dummy."""

import io
from datetime import timedelta

import pytest
from gpiozero.pins.mock import MockFactory
from luma.core.device import dummy
from PIL import Image, ImageChops

from fieldcheck_protocol.clock import ManualClock
from firmware import config as device_config
from firmware.core.settings import SettingsError
from firmware.ui import layout
from firmware.ui.backends import bench, console, oled
from firmware.ui.patterns import PATTERNS, Cue
from firmware.ui.registry import BACKENDS
from tests.firmware.ui.screen_cases import NOW


def receipt(seq: int, outcome: str = "match", guidance: str | None = None) -> dict[str, object]:
    return {"seq": seq, "outcome": outcome, "guidance": guidance,
            "device_time": (NOW + timedelta(minutes=seq)).isoformat()}


@pytest.fixture
def sink(tmp_path):
    made = bench.create(bench.Config(dir=str(tmp_path / "frames"), language="es"))
    made.start()
    yield made
    made.stop()


def names(sink: bench.BenchSink) -> list[str]:
    return [path.name.split("-", 1)[1].rsplit(".", 1)[0] for path in sink.frames]


def test_a_receipt_is_a_png_in_the_wearers_language_with_its_cue(sink) -> None:
    sink.receipt(receipt(41))
    assert names(sink) == ["result", "cue-success"]
    png = Image.open(sink.frames[0])
    assert png.size == (128, 64)
    assert sink.current is not None and sink.current.title == "Recibo 41"
    assert "success" in sink.frames[1].read_text(encoding="utf-8")


def test_the_last_ten_receipts_are_paged_with_a_long_press(sink) -> None:
    for seq in range(12):
        sink.receipt(receipt(seq))
    seen = []
    for _ in range(11):
        sink.observe("button", {"press": "long", "duration_ms": 1500})
        assert sink.current is not None
        seen.append((sink.current.title, sink.current.footer.rsplit(" ", 3)[-3:]))
    assert [title for title, _ in seen[:10]] == [f"Recibo {s}" for s in range(11, 1, -1)]
    assert seen[0][1] == ["1", "de", "10"] and seen[9][1] == ["10", "de", "10"]
    assert seen[10][0] == "Recibo 11"  # round again
    sink.observe("button", {"press": "short", "duration_ms": 100})  # a check-in, not a page
    assert sink.current.title == "Recibo 11"


def test_a_revoked_unit_says_contact_your_officer_instead_of_thank_you(sink) -> None:
    sink.observe("upload", {"acked_seq": 3, "failures": 1, "needs_technician": True,
                            "last_error": "server refused the batch: HTTP 403 device_revoked: x"})
    assert sink.revoked and sink.current.name == "contact-revoked"
    sink.receipt(receipt(5))
    assert sink.current.name == "contact-revoked"
    assert "Gracias" not in " ".join(sink.current.body)
    sink.observe("upload", {"acked_seq": 5, "failures": 0, "needs_technician": False,
                            "last_error": ""})
    sink.receipt(receipt(6))
    assert sink.current.name == "result"


@pytest.mark.parametrize(("guidance", "why"), [("not_enrolled", "contact-not_enrolled"),
                                               ("camera_fault", "contact-fault")])
def test_a_fault_the_wearer_cannot_fix_shows_the_receipt_then_contact(sink, guidance,
                                                                      why) -> None:
    sink.receipt(receipt(7, "unknown", guidance))
    assert names(sink) == ["result", why, "cue-attention"]


def test_idle_shows_what_waits_to_be_sent_gps_and_battery(tmp_path) -> None:
    clock = ManualClock(NOW)
    made = bench.BenchSink(bench.Config(dir=str(tmp_path), language="en"))
    made._clock = clock
    made.observe("record", {"kind": "location", "seq": 9})
    made.observe("upload", {"acked_seq": 4, "last_error": ""})
    made.observe("gps", {"state": "3d", "port_open": True})
    made.observe("event", {"event": "battery", "level": "ok", "percent": 64})
    made.observe("schedule", {"next_due": (NOW + timedelta(hours=1)).isoformat()})
    made.start()
    made.idle()
    body = made.current.body
    assert body[1] == "Battery 64% · GPS ok" and body[2] == "5 to send"
    assert body[0].startswith("Next check-in ")
    made.observe("event", {"event": "battery", "level": "low", "percent": 12})
    assert made.current.name == "battery_low" and "12%" in made.current.body[0]


def test_guidance_during_capture_is_in_the_wearers_language(sink) -> None:
    sink.guidance("too_dark", "Move somewhere with more light.")
    assert sink.current.body == ("Vaya a un lugar con más luz.",)
    assert names(sink) == ["guidance-too_dark", "cue-retry"]


def test_the_console_writes_one_line_per_screen() -> None:
    stream = io.StringIO()
    made = console.create(console.Config(language="pt"), stream)
    made.reminder(NOW)
    made.prompt(NOW + timedelta(minutes=5))
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("[reminder] Registro em breve | Seu registro é às ")
    assert lines[1] == "[cue] reminder" and lines[2].startswith("[prompt] Registre-se agora")


def test_an_unknown_language_fails_config_validation_with_the_choices() -> None:
    with pytest.raises(SettingsError, match="choose one of en, es, ht, pt"):
        device_config.resolve(BACKENDS, {"type": "bench", "language": "fr"}, "ui", "null")


def test_a_missing_oled_runtime_says_what_to_install(monkeypatch) -> None:
    monkeypatch.setattr(device_config, "_installed", lambda module: module != "luma.oled")
    with pytest.raises(SettingsError, match="install luma.oled"):
        device_config.resolve(BACKENDS, {"type": "oled"}, "ui", "null")


def test_the_oled_shows_the_laid_out_image_and_plays_cues_on_the_pins() -> None:
    display, pins = dummy(width=128, height=64, mode="1"), MockFactory()
    made = oled.create(oled.Config(language="ht"), device=display, pin_factory=pins)
    made.start()
    try:
        made.receipt(receipt(3))
        expected = layout.render(made.current)
        assert ImageChops.difference(display.image.convert("1"), expected).getbbox() is None
        assert made._player is not None
        made._player.join(timeout=PATTERNS[Cue.SUCCESS].duration_s + 2)
        led, buzzer = pins.pin(23), pins.pin(24)
        led.clear_states()
        made.signal(Cue.RETRY)
        made._player.join(timeout=PATTERNS[Cue.RETRY].duration_s + 2)
        changes = [state for _, state in led.states[1:]]
        assert changes == [True, False, True, False]  # two pulses, then off
        assert buzzer.state is False
    finally:
        made.stop()


def test_a_long_officer_message_is_shown_page_by_page(sink) -> None:
    text = "Su cita del martes pasa al jueves a las 10:00. " * 6
    sink.message(text)
    shown = [n for n in names(sink) if n.startswith("message")]
    assert len(shown) > 1 and shown[0] == "message-1"
    assert names(sink)[-1] == "cue-attention"
