"""The pynmea2 wrapper: checksum policy, unknown and ignored types, rejections by reason."""

import pytest

from firmware.core.nmea import build_sentence
from firmware.core.observation import Gga, Gsv, Rmc
from firmware.gps.parser import SentenceParser
from firmware.gps.reader import NmeaReader


def line(body: str) -> str:
    return build_sentence(body).strip()


GGA = line("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,")


def test_good_sentence_is_typed_and_counted() -> None:
    parser = SentenceParser()
    obs = parser.parse(GGA)
    assert isinstance(obs, Gga) and obs.satellites_used == 8 and obs.talker == "GP"
    assert parser.accepted == {"GGA": 1} and parser.talkers == {"GP": 1}


def test_missing_checksum_rejected_by_default_and_allowed_on_request() -> None:
    bare = GGA.split("*")[0]
    strict = SentenceParser()
    assert strict.parse(bare) is None
    assert strict.rejected == {"checksum_missing": 1}
    lenient = SentenceParser(require_checksum=False)
    assert isinstance(lenient.parse(bare), Gga)


def test_wrong_checksum_rejected_even_when_lenient() -> None:
    bad = GGA[:-2] + ("00" if GGA[-2:] != "00" else "11")
    parser = SentenceParser(require_checksum=False)
    assert parser.parse(bad) is None
    assert parser.rejected == {"checksum_bad": 1}


@pytest.mark.parametrize("talker", ["GP", "GN", "GL", "GA", "GB", "GQ", "BD"])
def test_all_talkers_are_recognised(talker: str) -> None:
    parser = SentenceParser()
    obs = parser.parse(line(f"{talker}RMC,001902.00,V,,,,,,,020211,,,N"))
    assert isinstance(obs, Rmc) and obs.talker == talker and obs.position is None


def test_unknown_type_counted_known_unused_type_ignored() -> None:
    parser = SentenceParser()
    assert parser.parse(line("GPXYZ,1,2")) is None
    assert parser.parse(line("GPTXT,01,01,02,ANTSTATUS=OK")) is None
    assert parser.parse(line("PGRME,15.0,M,45.0,M,25.0,M")) is None
    assert parser.rejected == {"unknown_type": 1}
    assert parser.ignored == {"TXT": 1, "PGRME": 1}


def test_malformed_field_is_rejected_not_raised() -> None:
    parser = SentenceParser()
    assert (
        parser.parse(line("GPRMC,000231.099,A,4829.0005,N,00022.0015,E,0.15,212.28,2208-1,,,A"))
        is None
    )
    assert (
        parser.parse(line("GPGGA,999999,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,")) is None
    )
    assert parser.parse("$") is None
    assert parser.rejected == {"malformed": 2, "checksum_missing": 1}


def test_gsv_with_signal_id_through_pynmea2() -> None:
    parser = SentenceParser()
    obs = parser.parse(line("GPGSV,3,1,12,05,06,110,19,10,24,284,34,13,37,124,29,15,63,083,11,1"))
    assert isinstance(obs, Gsv) and obs.prns == (5, 10, 13, 15) and obs.signal_id == "1"


def test_reader_counts_add_up() -> None:
    reader = NmeaReader()
    data = (
        b"\xb5\x62junk"
        + (GGA + "\r\n").encode()
        + GGA.split("*")[0].encode()
        + b"\r\n"
        + line("GPTXT,01,01,02,X").encode()
        + b"\n"
    )
    observations = reader.feed(data[:7]) + reader.feed(data[7:])
    counts = reader.counts()
    assert len(observations) == 1 and counts.sentences_ok == 1
    assert counts.rejected == {"garbage": 1, "checksum_missing": 1}
    assert counts.ignored == {"TXT": 1}
    assert counts.lines == 3 and counts.bytes_in == len(data)
