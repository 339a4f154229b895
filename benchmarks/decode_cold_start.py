"""Cold start of ``uccerts decode FILE`` against ``python -c "import cryptography.x509"``.

Goal (the offline tools' brief): the ratio of the two medians is at most 2.0. Both
are measured in the same run, interleaved (A, B, A, B, ...) so that machine load
affects them alike, each as a fresh interpreter. The certificate is generated in a
temporary folder; nothing is written elsewhere.

Usage: python benchmarks/decode_cold_start.py [--runs N]   (N >= 15, default 21)
Prints both medians, the ratio and whether the goal is met; exits 0 either way (a
benchmark reports, it does not gate).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

GOAL = 2.0
BASELINE = [sys.executable, "-c", "import cryptography.x509"]
# The same entry point as the installed ``uccerts`` script, without depending on it.
DECODE = [sys.executable, "-c", "from uccerts.launcher import run; run()", "decode"]
# Diagnostic, not the goal: the same decoding and printing without the CLI framework,
# to tell our own cost (codec, inspect) from the framework's (typer, click, and the
# pydantic that recent typer versions import to coerce every parameter).
WORK_ONLY = [sys.executable, "-c", (
    "import sys\n"
    "from uccerts.domain.codec import load_certificates_or_csr\n"
    "from uccerts.domain.inspect import render_text, summarize_certificate\n"
    "data = open(sys.argv[1], 'rb').read()\n"
    "print(render_text(summarize_certificate(load_certificates_or_csr(data)[0])))\n"
)]


def make_certificate(folder: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, "pub.uc.example"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Collaboration"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example"),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "MX"),
    ])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("pub.uc.example")]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    path = folder / "tomcat.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    runs = max(15, parser.parse_args().runs)
    with tempfile.TemporaryDirectory(prefix="uccerts-bench-") as tmp:
        folder = Path(tmp)
        cert = make_certificate(folder)
        commands = {
            "baseline": BASELINE,
            "decode": [*DECODE, str(cert)],
            "work": [*WORK_ONLY, str(cert)],
        }
        # One untimed run each warms the OS file cache and writes the .pyc files.
        for cmd in commands.values():
            timed(cmd, folder)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, cmd in commands.items():
                samples[name].append(timed(cmd, folder))
    ms = {name: statistics.median(values) * 1000 for name, values in samples.items()}
    ratio = ms["decode"] / ms["baseline"]
    print(f"runs: {runs} each, interleaved")
    print(f"baseline  python -c 'import cryptography.x509': median {ms['baseline']:7.1f} ms")
    print(f"uccerts decode FILE:                          median {ms['decode']:7.1f} ms")
    print(f"ratio: {ratio:.2f} (goal <= {GOAL:.1f}): {'met' if ratio <= GOAL else 'NOT met'}")
    print(f"diagnostic: the decoding alone, without the CLI framework: median "
          f"{ms['work']:7.1f} ms (ratio {ms['work'] / ms['baseline']:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
