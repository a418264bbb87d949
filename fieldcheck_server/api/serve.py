"""How the ingest app is served: uvicorn's limits on connections, headers and idle time, and
which proxies may say who the client is (issue 8: none unless configured)."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Connections (and requests in flight) beyond this get 503 at once instead of memory.
MAX_CONNECTIONS = 200
#: An idle keep-alive connection is closed after this many seconds.
KEEP_ALIVE_S = 5
#: The most header bytes h11 buffers for one request before refusing it (431).
MAX_HEADER_BYTES = 16 * 1024
#: A client must send its request headers within this many seconds (uvicorn has no such limit).
HEADER_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ServeSettings:
    """The uvicorn settings `fieldcheck server run` uses."""

    key_file: Path
    cert_file: Path
    #: Addresses whose X-Forwarded-For / X-Forwarded-Proto are believed; empty: nobody's.
    trusted_proxies: tuple[str, ...] = ()
    max_connections: int = MAX_CONNECTIONS
    keep_alive_s: int = KEEP_ALIVE_S
    max_header_bytes: int = MAX_HEADER_BYTES
    header_timeout_s: float = HEADER_TIMEOUT_S

    def uvicorn_options(self) -> dict[str, Any]:
        """Keyword arguments for ``uvicorn.Config`` (besides the app)."""
        from fieldcheck_server.api.header_timeout import with_header_timeout

        return {
            "ssl_keyfile": str(self.key_file),
            "ssl_certfile": str(self.cert_file),
            "log_level": "info",
            "access_log": False,
            "http": with_header_timeout(self.header_timeout_s),
            "timeout_keep_alive": self.keep_alive_s,
            "limit_concurrency": self.max_connections,
            "h11_max_incomplete_event_size": self.max_header_bytes,
            # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise: a process on
            # the server could then pose as any unit's address. Only configured proxies count.
            "proxy_headers": bool(self.trusted_proxies),
            "forwarded_allow_ips": list(self.trusted_proxies),
        }
