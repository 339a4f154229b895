"""Offline tools: ``uccerts decode`` and ``uccerts match`` (cli.md, domain.md §11).

They need no cluster and no home. The work is in ``offline`` (framework-free);
``launch`` runs it without typer for a fast start (benchmarks/decode_cold_start.py),
and these typer commands carry the help text and serve ``uccerts --help``.
"""

from __future__ import annotations

import typer

from uccerts.cli import offline

_DECODE_HELP = """Show a certificate's or a CSR's summary, as the appliance shows it.

FILE is PEM (one or many certificates), DER, PKCS#7 (.p7b, PEM or DER) or a CSR
(PEM or DER); "-" reads standard input.

Text: the seed's "Certificate Summary" / "CSR Summary", one per certificate in the file.

JSON: one object for a CSR or a file holding a single certificate; a list of objects,
in file order, when the file holds several certificates. Keys: kind ("csr" |
"certificate"), subject, rdns {CN, OU, O, L, ST, C}, key_type, key_size, sha1, md5
(colon hex of the DER), sans, public_key_sha256 (SHA-256 of the DER
SubjectPublicKeyInfo) and, for certificates, issuer, not_before, not_after (ISO 8601
UTC), serial_hex (upper-case hex, as openssl -serial), serial_decimal (a string), is_ca.

Exit codes: 0 decoded; 1 the file is not a certificate or CSR (the detail says what it
is instead).
"""

_MATCH_HELP = """Check that a certificate belongs to a private key or to a CSR.

Compares the SHA-256 of the DER SubjectPublicKeyInfo of both (64 lower-case hex
digits); only these hashes are printed, never the key. Give exactly one of --key and
--csr. When the certificate file holds several certificates (a chain or .p7b), the
end-entity one is compared: the certificate that issued no other in the file.

Text: the verdict ("The certificate and private key match!", "The certificate and
CSR do NOT match!", ...) and the two hashes on standard output; on a mismatch the
verdict goes to standard error (cli.md: the reason for exit 1).

JSON: {"match": bool, "certificate_hash", "key_hash" | "csr_hash"}.

Exit codes: 0 they match; 1 they do not, or a file cannot be read; 2 usage error.
"""


def register(app: typer.Typer) -> None:
    app.command("decode", help=_DECODE_HELP)(decode)
    app.command("match", help=_MATCH_HELP)(match)


def decode(
    file: str = typer.Argument(..., metavar="FILE", help='Certificate or CSR file; "-" for stdin'),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document"),
) -> None:
    code = offline.decode(file, as_json)
    if code:
        raise typer.Exit(code)


def match(
    cert: str = typer.Option(..., "--cert", metavar="FILE",
                             help='Certificate file (PEM, DER, PKCS#7); "-" for stdin'),
    key: str | None = typer.Option(None, "--key", metavar="FILE",
                                   help="Private key file (PEM or DER, unencrypted)"),
    csr: str | None = typer.Option(None, "--csr", metavar="FILE", help="CSR file (PEM or DER)"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document"),
) -> None:
    code = offline.match(cert, key, csr, as_json)
    if code:
        raise typer.Exit(code)
