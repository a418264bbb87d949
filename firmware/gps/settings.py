"""Reader settings every GPS backend shares: checksum policy, filters, hysteresis, silence alarm."""

from dataclasses import dataclass

from firmware.core.framer import DEFAULT_MAX_LINE
from firmware.core.plausibility import PlausibilityPolicy
from firmware.core.settings import setting
from firmware.core.tracker import TrackerPolicy
from firmware.version import BUILD_DATE


@dataclass(frozen=True)
class ReaderSettings:
    """Base of every GPS backend's ``Config``: how sentences are judged, whatever the source."""

    require_checksum: bool = setting(
        True, "reject sentences without a *hh checksum (set false only for old receivers)"
    )
    max_line_length: int = setting(
        DEFAULT_MAX_LINE, "longest accepted sentence in characters (NMEA allows 82)"
    )
    silence_warning_s: float = setting(
        10.0, "seconds without a valid sentence before the state becomes no_data and a warning"
    )
    hysteresis_epochs: int = setting(
        3, "consecutive epochs that must agree before no-fix/2D/3D changes (fix lost/regained)"
    )
    epoch_gap_s: float = setting(
        0.3, "silence after a sentence that ends an epoch while the receiver's cycle is unknown"
    )
    max_hdop: float = setting(5.0, "fixes with a larger HDOP are flagged poor_hdop")
    max_speed_kmh: float = setting(
        300.0, "a jump implying a faster speed than this is flagged speed_jump"
    )
    future_tolerance_s: float = setting(
        300.0, "GPS dates further ahead of the (set) system clock are flagged future_date"
    )

    def tracker_policy(self) -> TrackerPolicy:
        """The fix tracker's policy from these settings."""
        return TrackerPolicy(hysteresis_epochs=self.hysteresis_epochs)

    def plausibility_policy(self) -> PlausibilityPolicy:
        """The plausibility filters' policy; dates before this firmware's build are flagged."""
        return PlausibilityPolicy(
            max_hdop=self.max_hdop,
            max_speed_mps=self.max_speed_kmh / 3.6,
            future_tolerance_s=self.future_tolerance_s,
            build_date=BUILD_DATE,
        )
