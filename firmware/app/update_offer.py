"""The ``offer_update`` command's work on the unit: fetch over the pinned HTTPS client, verify,
queue for the installer.

The daemon runs unprivileged and cannot replace its own slot or restart itself, so it stops at
a verified bundle in ``DATA_DIR/updates/pending.bundle``; ``fieldcheck-update.path`` (systemd)
sees it and runs ``fieldcheck-device update install --consume`` as root, which verifies it again
and installs it into the inactive slot exactly as a technician's install does.
"""

import logging
import os
from pathlib import Path
from typing import Any

from fieldcheck_protocol.command import Reason
from firmware.services.commands import CommandRefused, Details, UpdateTaker
from firmware.update.base import UpdateError
from firmware.update.registry import PENDING_BUNDLE, UpdateSettings, installer_for

logger = logging.getLogger(__name__)


def update_taker(sync: Any, data_dir: Path,
                 settings: UpdateSettings | None = None) -> UpdateTaker | None:
    """The taker for a unit syncing over HTTPS (``sync`` its https.Config) with a pinned bundle
    root key; None without the key."""
    # httpx comes with these two: imported only on a unit that syncs over HTTPS.
    from firmware.sync.backends import https
    from firmware.update.backends.download import download

    chosen = settings or UpdateSettings()
    if not chosen.root_key.is_file():
        logger.info("no bundle root key at %s: offered updates are refused", chosen.root_key)
        return None
    pem = sync.server_cert.read_text(encoding="ascii")
    context, pin = https.pinned_context(pem), https.certificate_fingerprint(pem)
    verifier = installer_for(UpdateSettings(root=chosen.root, root_key=chosen.root_key,
                                            service="none", setup="files"))
    pending = data_dir / PENDING_BUNDLE

    def take(url: str, sha256: str) -> Details:
        pending.parent.mkdir(mode=0o700, exist_ok=True)
        fetched = download(url, sha256, pending.with_name(f"{sha256}.bundle"), context, pin,
                           sync.timeout_s)
        try:
            _root, manifest = verifier.verify(fetched)
        except UpdateError as err:
            fetched.unlink(missing_ok=True)
            raise CommandRefused(Reason.INVALID_VALUE, str(err)) from None
        os.replace(fetched, pending)
        logger.info("bundle %s (counter %s) verified and queued for install", manifest.version,
                    manifest.counter)
        return {"version": manifest.version, "counter": manifest.counter, "install": "queued"}

    return take
