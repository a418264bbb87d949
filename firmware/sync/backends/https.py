"""HTTPS sync backend (httpx): signed requests, the server certificate pinned by fingerprint."""

import hashlib
import logging
import secrets
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cbor2
import httpx

from fieldcheck_protocol import wire
from fieldcheck_protocol.clock import Clock
from firmware.core.settings import setting
from firmware.errors import ConfigError
from firmware.sync.auth import signed_headers
from firmware.sync.base import (
    DEFAULT_REMOTE_KEYS,
    PinMismatch,
    PushResult,
    RequestSigner,
    SyncRefused,
    SyncTransport,
    SyncUnavailable,
)

logger = logging.getLogger(__name__)

# 408, 425 and 429 mean "later", not "never": they are retried like network failures.
TRANSIENT_4XX = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Config:
    """Where the ingest server is and which certificate it must present."""

    url: str = setting("", "server base URL, e.g. https://ingest.example.org:8443")
    server_cert: Path = setting(
        Path("/etc/fieldcheck/server.crt"), "the server certificate to pin (PEM, from server init)"
    )
    fingerprint: str = setting(
        "", "SHA-256 of that certificate as printed by `fieldcheck server init`"
    )
    timeout_s: float = setting(20.0, "seconds to wait for connect, send and answer")
    command_key: str = setting(
        "", "the server's command public key to pin (command.pub from `fieldcheck server init`);"
        " empty: every command is refused"
    )
    remote_keys: tuple[str, ...] = setting(
        DEFAULT_REMOTE_KEYS, "config keys (section.key) the server may change with a signed "
        "set_policy command; [] for none"
    )


def create(
    config: Config,
    signer: RequestSigner,
    clock: Clock,
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> "HttpsTransport":
    """Build the backend from its config; refuses a missing URL, cert or fingerprint mismatch."""
    if not config.url.startswith("https://"):
        raise ConfigError(
            f"[sync] url {config.url!r} is not an https:// URL",
            "set url to the server address printed by `fieldcheck server run`",
        )
    pem = _read_pem(config.server_cert)
    pin = certificate_fingerprint(pem)
    wanted = normalise_fingerprint(config.fingerprint)
    if pin != wanted:
        raise ConfigError(
            f"[sync] {config.server_cert} has fingerprint {pin}, "
            f"not the configured {wanted or '(none)'}",
            "copy server.crt from the server's directory again and set fingerprint to what "
            "`fieldcheck server init` printed",
        )
    context = pinned_context(pem)

    def factory() -> httpx.Client:
        return httpx.Client(verify=context, timeout=config.timeout_s)

    return HttpsTransport(config.url, signer, clock, factory, pin, random_bytes)


def certificate_fingerprint(pem: str) -> str:
    """SHA-256 of the certificate's DER bytes, lower-case hex."""
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


def normalise_fingerprint(text: str) -> str:
    """Accept ``AB:CD:...`` or plain hex, any case."""
    return text.replace(":", "").strip().lower()


def pinned_context(pem: str) -> ssl.SSLContext:
    """A TLS client context that trusts exactly this one certificate and nothing else."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # The pin is the certificate itself, checked again by fingerprint after the handshake, so
    # the host name the unit uses to reach the server (often a bare IP) does not matter.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cadata=pem)
    return context


class HttpsTransport(SyncTransport):
    """POSTs batches to ``/v1/records`` with request signatures and certificate pinning."""

    def __init__(
        self,
        url: str,
        signer: RequestSigner,
        clock: Clock,
        client_factory: Callable[[], httpx.Client],
        pin: str | None,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        # pin=None only for in-process test clients (plain http to an ASGI app);
        # create() always pins.
        self.describe = url
        self._url = url.rstrip("/") + wire.RECORDS_PATH
        self._health_url = url.rstrip("/") + wire.HEALTH_PATH
        self._signer = signer
        self._clock = clock
        self._factory = client_factory
        self._pin = pin
        self._random_bytes = random_bytes
        self._client: httpx.Client | None = None

    def _start(self) -> None:
        self._client = self._factory()

    def _stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def push(self, records: list[bytes]) -> PushResult:
        """Deliver one batch; see ``SyncTransport.push`` for the errors."""
        if self._client is None:
            raise SyncUnavailable("sync transport is not started", "call start() first")
        body = cbor2.dumps(records)
        timestamp = int(self._clock.now().timestamp())
        headers = signed_headers(
            self._signer, "POST", wire.RECORDS_PATH, body, timestamp, self._random_bytes
        )
        headers["Content-Type"] = wire.CBOR
        response = self._send(body, headers)
        self._check_pin(response)
        return self._interpret(response)

    def health(self) -> str:
        """GET the server's health over the pinned TLS; its ``status`` word (``ok``)."""
        if self._client is None:
            raise SyncUnavailable("sync transport is not started", "call start() first")
        try:
            response = self._client.get(self._health_url)
        except httpx.ConnectError as err:
            if _is_certificate_failure(err):
                raise PinMismatch(f"{self.describe} presented a certificate that is not the "
                                  "pinned one", "install the server's server.crt and "
                                  "fingerprint on the unit again") from err
            raise SyncUnavailable(f"cannot connect to {self.describe}: {err}") from err
        except httpx.HTTPError as err:
            raise SyncUnavailable(f"request to {self.describe} failed: {err}") from err
        self._check_pin(response)
        if response.status_code != 200:
            raise SyncUnavailable(f"{self.describe} health answered HTTP {response.status_code}",
                                  "check that the URL points at a fieldcheck server")
        try:
            return str(response.json()["status"])
        except (ValueError, KeyError, TypeError) as err:
            raise SyncUnavailable(f"{self.describe} health answer is unreadable",
                                  "check that the URL points at a fieldcheck server") from err

    def _send(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        assert self._client is not None
        try:
            return self._client.post(self._url, content=body, headers=headers)
        except httpx.ConnectError as err:
            if _is_certificate_failure(err):
                raise PinMismatch(
                    f"{self.describe} presented a certificate that is not the pinned one",
                    "if the server was re-initialised, install its new server.crt and "
                    "fingerprint on the unit; otherwise the connection is being intercepted",
                ) from err
            raise SyncUnavailable(f"cannot connect to {self.describe}: {err}") from err
        except httpx.HTTPError as err:
            raise SyncUnavailable(f"request to {self.describe} failed: {err}") from err

    def _check_pin(self, response: httpx.Response) -> None:
        if self._pin is None:
            return
        stream = response.extensions.get("network_stream")
        ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
        der = ssl_object.getpeercert(True) if ssl_object is not None else None
        if der is None or hashlib.sha256(der).hexdigest() != self._pin:
            raise PinMismatch(
                f"{self.describe} answered with an unpinned certificate",
                "check the fingerprint in [sync] against `fieldcheck server init` output",
            )

    def _interpret(self, response: httpx.Response) -> PushResult:
        status = response.status_code
        if status == 200:
            try:
                return _parse_result(response.json())
            except ValueError as err:
                # Nothing is acknowledged on an answer we cannot read; the batch is sent again.
                raise SyncUnavailable(
                    f"{self.describe} answered 200 with an unreadable body: {err!r}",
                    "check that the URL points at a fieldcheck server (not a proxy page)",
                ) from err
        if status >= 500 or status in TRANSIENT_4XX:
            raise SyncUnavailable(f"{self.describe} answered HTTP {status}; will retry")
        code, message = _error_of(response)
        raise SyncRefused(status, code, message, wire.hint_for(code))


def _parse_result(data: Any) -> PushResult:
    return wire.IngestAnswer.from_json(data)


def _error_of(response: httpx.Response) -> tuple[str, str]:
    try:
        data = response.json()
    except ValueError:
        return "http_" + str(response.status_code), response.text[:200]
    refusal = wire.RefusalAnswer.from_json(data, response.status_code)
    return refusal.code, refusal.message


def _is_certificate_failure(err: BaseException) -> bool:
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(err)


def _read_pem(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii")
    except OSError as err:
        raise ConfigError(
            f"[sync] cannot read the pinned server certificate {path}: {err.strerror}",
            "copy server.crt from the server's directory (`fieldcheck server init`) to the unit",
        ) from err
