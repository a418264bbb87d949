"""Prompt, success and retry are told apart by ear: different pulse counts and lengths."""

from itertools import combinations

from firmware.ui.patterns import PATTERNS, Cue


def test_every_cue_has_a_pattern() -> None:
    assert set(PATTERNS) == set(Cue)


def test_no_two_cues_share_a_rhythm_or_a_pulse_count() -> None:
    for a, b in combinations(Cue, 2):
        assert PATTERNS[a].rhythm != PATTERNS[b].rhythm, (a, b)
    counts = {cue: len(PATTERNS[cue].rhythm) for cue in (Cue.PROMPT, Cue.SUCCESS, Cue.RETRY)}
    assert len(set(counts.values())) == 3, counts


def test_patterns_are_short_and_audible() -> None:
    for cue, pattern in PATTERNS.items():
        assert 0.1 <= pattern.duration_s <= 3.0, cue
        assert all(on >= 0.1 for on in pattern.rhythm), cue  # shorter pulses are not heard
    assert PATTERNS[Cue.SUCCESS].rhythm == (0.8,)  # one long tone: recorded
