"""Declared backends: a name, the module that implements it, and what it needs installed."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Backend:
    """One entry of an adapter's backend registry.

    ``module`` must define ``Config`` (a settings dataclass) and ``create(config, **deps)``.
    ``requires`` lists importable modules the backend needs; ``install`` says how to get them.
    """

    name: str
    module: str
    summary: str
    requires: tuple[str, ...] = ()
    install: str = ""
