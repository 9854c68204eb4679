"""The REST API's credentials, made at `kubemu up` (as kubeadm's `certs` and a token).

- a self-signed cluster CA (CN `kubernetes`, like kubeadm's `ca.crt`),
- the apiserver's serving certificate signed by it (CN `kube-apiserver`, SANs
  `kubernetes`, `kubernetes.default`, ..., `localhost`, 127.0.0.1 and the bind address),
- a random bearer token.

kubectl and client-go never send a bearer token over plain HTTP, so the REST API is
HTTPS and the kubeconfig carries the CA (`certificate-authority-data`).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from dataclasses import dataclass
from pathlib import Path

VALIDITY_DAYS = 365  # kubeadm's leaf certificates last a year (its CA ten)


@dataclass(frozen=True)
class Credentials:
    ca_cert: Path
    cert: Path
    key: Path
    token: str


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def make_credentials(directory: Path, hosts: list[str]) -> Credentials:
    """Write ca.crt, apiserver.crt, apiserver.key and token into `directory` (created)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + dt.timedelta(days=10 * VALIDITY_DAYS))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                       crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False,
                                       decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in (
        "kubernetes", "kubernetes.default", "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local", "localhost")]
    seen = {"127.0.0.1"}
    ips: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    for h in hosts:
        if h in seen or h in ("", "0.0.0.0", "::"):
            continue
        seen.add(h)
        try:
            ips.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            names.append(x509.DNSName(h))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=VALIDITY_DAYS))
            .add_extension(x509.SubjectAlternativeName(names + ips), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    out = Credentials(directory / "ca.crt", directory / "apiserver.crt",
                      directory / "apiserver.key", new_token())
    out.ca_cert.write_bytes(ca.public_bytes(pem))
    out.cert.write_bytes(cert.public_bytes(pem))
    _write_private(out.key, key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
    _write_private(directory / "token", out.token.encode())
    return out


def load_credentials(directory: Path) -> Credentials | None:
    token = directory / "token"
    if not token.exists():
        return None
    return Credentials(directory / "ca.crt", directory / "apiserver.crt",
                       directory / "apiserver.key", token.read_text().strip())
