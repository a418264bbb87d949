"""Field typing: empty fields are None, NMEA 4.1 extras, leap second, malformed fields raise."""

from datetime import date

import pytest

from firmware.core import nmea_fields as f
from firmware.core.observation import Position, UtcTime


def test_empty_position_is_none_not_zero() -> None:
    gga = f.gga("GP", ",,,,,0,00,,,M,,M,,".split(","))
    assert gga.position is None
    assert gga.quality == 0
    assert gga.hdop is None and gga.altitude_m is None


def test_coordinates_are_signed_degrees() -> None:
    gga = f.gga("GP", "123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,".split(","))
    assert gga.position == Position(pytest.approx(48.1173), pytest.approx(11.516666666))
    south_west = f.coordinate("4552.65403", "S", 90), f.coordinate("09345.0343", "W", 180)
    assert south_west == (pytest.approx(-45.8775671667), pytest.approx(-93.750571667))


@pytest.mark.parametrize("value", ["4860.000", "9100.000", "48x7.0", "12"])
def test_impossible_coordinates_raise(value: str) -> None:
    with pytest.raises(ValueError):
        f.coordinate(value, "N", 90)


def test_leap_second_time_is_kept() -> None:
    leap = f.utc_time("235960.00")
    assert leap == UtcTime(23, 59, 60, 0)
    assert leap is not None and leap.leap_second
    with pytest.raises(ValueError):
        f.utc_time("235961")


def test_rmc_41_nav_status_v_does_not_invalidate() -> None:
    # u-blox NMEA 4.10 sends nav status V ("not provided"); pynmea2 1.19 calls this invalid.
    fields = "200728.50,A,2829.34783,N,08122.21257,W,0.057,,301223,,,A,V".split(",")
    rmc = f.rmc("GN", fields)
    assert rmc.valid and rmc.nav_status == "V" and rmc.mode == "A"
    assert rmc.date == date(2023, 12, 30)


@pytest.mark.parametrize("status,mode", [("V", "A"), ("A", "N"), ("A", "E")])
def test_rmc_invalid_by_status_or_mode(status: str, mode: str) -> None:
    fields = f"001902.00,{status},4807.0,N,01131.0,E,,,020211,,,{mode}".split(",")
    assert not f.rmc("GP", fields).valid


def test_rmc_nmea_20_without_mode_is_valid_with_status_a() -> None:
    fields = "123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W".split(",")
    rmc = f.rmc("GP", fields)
    assert rmc.valid and rmc.mode is None and rmc.date == date(1994, 3, 23)


def test_gsv_41_signal_id_is_not_a_satellite() -> None:
    gsv = f.gsv("GP", "3,1,12,05,06,110,19,10,24,284,34,13,37,124,29,15,63,083,11,1".split(","))
    assert gsv.prns == (5, 10, 13, 15) and gsv.signal_id == "1" and gsv.in_view == 12
    old = f.gsv("GP", "3,3,12,26,04,276,,27,15,218,31".split(","))
    assert old.prns == (26, 27) and old.signal_id is None


def test_gsa_system_id_and_talker() -> None:
    gsa = f.gsa("GN", "A,3,82,66,81,,,,,,,,,,1.05,0.64,0.83,2".split(","))
    assert gsa.system == "glonass" and gsa.prns == (82, 66, 81) and gsa.fix_mode == 3
    assert (gsa.pdop, gsa.hdop, gsa.vdop) == (1.05, 0.64, 0.83)
    assert f.gsa("GN", "A,3,01,02,,,,,,,,,,,2.0,1.0,1.7".split(",")).system is None
    assert f.gsa("GP", "A,1,,,,,,,,,,,,,,,".split(",")).system == "gps"


def test_vtg_both_forms() -> None:
    assert f.vtg("GP", "054.7,T,034.4,M,005.5,N,010.2,K,A".split(",")).speed_kmh == 10.2
    old = f.vtg("GP", "054.7,034.4,005.5,010.2".split(","))
    assert old.course_deg == 54.7 and old.speed_kmh == 10.2


def test_zda_date_and_empty() -> None:
    assert f.zda("GP", "193913.00,07,09,2018,00,00".split(",")).date == date(2018, 9, 7)
    assert f.zda("GP", ",,,,,".split(",")).date is None


def test_malformed_date_raises() -> None:
    with pytest.raises(ValueError):
        f.ddmmyy("2208-1")
