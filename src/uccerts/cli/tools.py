"""Offline tools: ``uccerts decode`` and ``uccerts match`` (cli.md, domain.md §11).

They need no cluster and no home. Only ``typer`` and ``uccerts.cli.common`` are
imported at module level: the domain modules (and with them ``cryptography``) are
imported inside the commands, because ``uccerts decode`` must start within twice
the time of ``import cryptography.x509`` (benchmarks/decode_cold_start.py) and every
other command pays for what this module imports at the top.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from uccerts.cli.common import emit_json, handled, read_input, say, warn

if TYPE_CHECKING:
    from uccerts.domain.inspect import MatchResult

_DECODE_HELP = """Show a certificate's or a CSR's summary (domain.md section 11).

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
    with handled(as_json):
        from uccerts.domain import codec
        from uccerts.domain.inspect import (
            CsrSummary,
            render_text,
            summarize_certificate,
            summarize_csr,
        )

        loaded = codec.load_certificates_or_csr(read_input(file))
        summaries: list[CsrSummary]
        if isinstance(loaded, list):
            summaries = [summarize_certificate(c) for c in loaded]
        else:
            summaries = [summarize_csr(loaded)]
        if as_json:
            docs = [s.to_dict() for s in summaries]
            emit_json(docs[0] if len(docs) == 1 else docs)
            return
        for n, summary in enumerate(summaries, 1):
            if n > 1:
                say()
            if len(summaries) > 1:
                say(f"# Certificate {n} of {len(summaries)}")
            say(render_text(summary))


def match(
    cert: str = typer.Option(..., "--cert", metavar="FILE",
                             help='Certificate file (PEM, DER, PKCS#7); "-" for stdin'),
    key: str | None = typer.Option(None, "--key", metavar="FILE",
                                   help="Private key file (PEM or DER, unencrypted)"),
    csr: str | None = typer.Option(None, "--csr", metavar="FILE", help="CSR file (PEM or DER)"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document"),
) -> None:
    with handled(as_json):
        from uccerts.errors import UsageError

        if (key is None) == (csr is None):
            raise UsageError("Give exactly one of --key FILE and --csr FILE",
                             code="usage",
                             fix="uccerts match --cert FILE (--key FILE | --csr FILE)")
        if [cert, key, csr].count("-") > 1:
            raise UsageError("Only one file can be read from standard input (-)",
                             code="usage")
        result = _match(cert, key, csr)
        if as_json:
            emit_json(result.to_dict())
        elif result.match:
            say(result.verdict)
            say(result.render_hashes())
        else:
            warn(result.verdict)
            say(result.render_hashes())
    if not result.match:
        raise typer.Exit(1)


def _match(cert_path: str, key_path: str | None, csr_path: str | None
           ) -> MatchResult:
    from uccerts.domain import codec
    from uccerts.domain.inspect import leaf_of, match_certificate_csr, match_certificate_key

    certificate = leaf_of(codec.load_certificates(read_input(cert_path)))
    if key_path is not None:
        return match_certificate_key(certificate,
                                     codec.load_private_key(read_input(key_path)))
    assert csr_path is not None  # checked by the caller: exactly one of the two
    return match_certificate_csr(certificate, codec.load_csr(read_input(csr_path)))
