"""Fetch an offered bundle over HTTPS with the unit's pinned server certificate (httpx).

The TLS context trusts exactly the pinned certificate (the sync backend builds it) and the peer
certificate is checked again by fingerprint; the body is streamed to a scratch file with a size
cap and its sha256 compared with the one the signed command named, then renamed into place.
"""

import hashlib
import logging
import os
import ssl
from pathlib import Path

import httpx

from firmware.update.base import UpdateError

logger = logging.getLogger(__name__)
#: Largest bundle a unit downloads (bytes).
MAX_BUNDLE_BYTES = 512 << 20
_CHUNK = 1 << 16


def _check_pin(response: httpx.Response, pin: str) -> None:
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    der = ssl_object.getpeercert(True) if ssl_object is not None else None
    if der is None or hashlib.sha256(der).hexdigest() != pin:
        raise UpdateError("fetch", "the bundle server presented a certificate that is not the "
                          "pinned one", "serve bundles from the unit's own server")


def download(url: str, sha256: str, dest: Path, context: ssl.SSLContext, pin: str,
             timeout_s: float = 60.0, max_bytes: int = MAX_BUNDLE_BYTES) -> Path:
    """Download ``url`` to ``dest`` if its bytes hash to ``sha256``; UpdateError otherwise."""
    if not url.startswith("https://"):
        raise UpdateError("fetch", f"{url} is not https", "offer the bundle over https")
    scratch = dest.with_name(f".{dest.name}.part")
    digest, size = hashlib.sha256(), 0
    try:
        with httpx.Client(verify=context, timeout=timeout_s) as client, \
                client.stream("GET", url) as response, scratch.open("wb") as out:
            _check_pin(response, pin)
            if response.status_code != 200:
                raise UpdateError("fetch", f"GET {url} answered {response.status_code}",
                                  "check the URL of the offered bundle")
            for chunk in response.iter_bytes(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise UpdateError("fetch", f"{url} is larger than {max_bytes} bytes")
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != sha256:
            raise UpdateError("fetch", f"{url} has sha256 {digest.hexdigest()}, the command "
                              f"named {sha256}", "offer the bundle with its own sha256")
        os.replace(scratch, dest)
    except httpx.HTTPError as err:
        raise UpdateError("fetch", f"cannot fetch {url}: {err}",
                          "the unit retries when the server offers it again") from err
    finally:
        scratch.unlink(missing_ok=True)
    logger.info("fetched bundle %s (%s bytes)", url, size)
    return dest
