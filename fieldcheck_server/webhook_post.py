"""The webhook worker's HTTP side: POST one signed alert with httpx, no redirects followed."""

import logging
from collections.abc import Mapping

import httpx

from fieldcheck_server.domain.webhooks import DeliveryFailed

logger = logging.getLogger(__name__)

TIMEOUT_S = 10.0


def post(url: str, body: bytes, headers: Mapping[str, str]) -> None:
    """Deliver one alert; raises DeliveryFailed unless the receiver answers 2xx."""
    try:
        answer = httpx.post(url, content=body, headers=dict(headers), timeout=TIMEOUT_S)
    except httpx.HTTPError as err:
        raise DeliveryFailed(f"{type(err).__name__}: {err}") from err
    if not 200 <= answer.status_code < 300:
        raise DeliveryFailed(f"the receiver answered HTTP {answer.status_code}")
