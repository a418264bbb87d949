"""The server's TLS identity: a key and a self-signed certificate the devices pin by fingerprint."""

import datetime
import hashlib
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

KEY_FILE = "server.key"
CERT_FILE = "server.crt"
VALID_DAYS = 3650


def generate(directory: Path, names: tuple[str, ...], now: datetime.datetime) -> str:
    """Write ``server.key`` (mode 0600) and ``server.crt``; returns the SHA-256 fingerprint.

    Refuses to overwrite: a new certificate means re-pinning every unit in the field.
    """
    key_path, cert_path = directory / KEY_FILE, directory / CERT_FILE
    if key_path.exists() or cert_path.exists():
        raise ValueError(
            f"{key_path} already exists; every unit pins its certificate, so it is not replaced "
            "(delete both files yourself to start over and re-pin the units)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    pem_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem_key)
    cert = _certificate(key, names, now)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return fingerprint(cert_path)


def fingerprint(cert_path: Path) -> str:
    """SHA-256 of the certificate's DER bytes, lower-case hex (what the unit pins)."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _certificate(
    key: ec.EllipticCurvePrivateKey, names: tuple[str, ...], now: datetime.datetime
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    alt: list[x509.GeneralName] = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
