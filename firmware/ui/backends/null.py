"""Null feedback sink: shows nothing (a unit without screen, LED or report)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from firmware.ui.base import FeedbackSink


@dataclass(frozen=True)
class Config:
    """The null sink has no settings."""


class NullSink(FeedbackSink):
    """Drops every item."""

    def show(self, item: str, fields: Mapping[str, Any]) -> None:
        """Nothing to show on."""
        return None


def create(config: Config) -> NullSink:
    """Build the sink from its (empty) config."""
    return NullSink()
