"""TLS for remote access: the server's certificate (given, or self-signed at first start) and
the SHA-256 fingerprints clients pin it by."""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from runtime.contracts.api import fingerprint
from runtime.contracts.errors import LinesideError

CERT_NAME, KEY_NAME = "api-cert.pem", "api-key.pem"
VALID_DAYS = 3650


class TlsError(LinesideError):
    """The server's certificate or key can't be used; the message says which and why."""


def ensure_certificate(directory: Path, hosts: list[str]) -> tuple[Path, Path]:
    """The self-signed certificate and key in `directory`, made on first use (an EC P-256
    key readable by the owner only, valid for `hosts` and this machine's name)."""
    cert_path, key_path = directory / CERT_NAME, directory / KEY_NAME
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys([*hosts, socket.gethostname(), "localhost", "127.0.0.1"]):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Lineside runtime "
                                                                 f"{socket.gethostname()}")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key_pem)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def server_context(cert_path: Path, key_path: Path) -> tuple[ssl.SSLContext, str]:
    """A TLS 1.2+ server context for the certificate and key, and the certificate's
    fingerprint; TlsError when they can't be loaded."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(cert_path), str(key_path))
        der = x509.load_pem_x509_certificate(cert_path.read_bytes()).public_bytes(
            serialization.Encoding.DER)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise TlsError(f"the API's TLS certificate {cert_path} with key {key_path} can't be "
                       f"used: {exc}") from None
    return context, fingerprint(der)
