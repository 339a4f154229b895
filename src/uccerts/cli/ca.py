"""``uccerts ca``: the lab CA that plays the enterprise CA (cli.md "Lab CA").

    uccerts ca init [--json]
    uccerts ca sign CSR_FILE -o DIR [--add-san N]… [--drop-san N]… [--add-cn-to-san]
                    [--days N] [--not-before TIME] [--no-client-auth] [--json]
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from uccerts.cli.common import emit_json, handled, read_input, say, state

if TYPE_CHECKING:
    from cryptography import x509

    from uccerts.config import Settings
    from uccerts.services.ca import CaCertInfo, CaInfo, LabCaService

ca_app = typer.Typer(
    help="A lab CA (root and intermediate kept in the home) that signs CSRs, "
         "including the mistakes real CAs make.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(ca_app, name="ca")


def _service(settings: Settings) -> LabCaService:
    from uccerts.bootstrap import build_lab_ca

    return build_lab_ca(settings)


def _iso(moment: datetime) -> str:
    from uccerts.domain.inspect import iso_utc

    return iso_utc(moment)


@ca_app.command("init")
def init(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document"),
) -> None:
    """Create the lab CA in the home, or show the one already there (never replaced)."""
    with handled(as_json):
        info = _service(state(ctx).settings()).init()
        if as_json:
            emit_json(_info_doc(info))
        else:
            _say_info(info)


def _cert_doc(cert: CaCertInfo) -> dict[str, Any]:
    return {"subject": cert.subject, "serial": format(cert.serial, "x"),
            "not_after": _iso(cert.not_after), "sha256": cert.sha256}


def _info_doc(info: CaInfo) -> dict[str, Any]:
    return {"created": info.created, "folder": str(info.folder),
            "root": _cert_doc(info.root), "intermediate": _cert_doc(info.intermediate)}


def _say_info(info: CaInfo) -> None:
    verb = "Created the lab CA in" if info.created else "The lab CA already exists in"
    say(f"{verb} {info.folder}")
    for label, cert in (("root", info.root), ("intermediate", info.intermediate)):
        say(f"  {label}: {cert.subject}")
        say(f"    serial {format(cert.serial, 'x')}, valid until {_iso(cert.not_after)}")
        say(f"    sha256 {cert.sha256}")


@ca_app.command("sign")
def sign(
    ctx: typer.Context,
    csr_file: str = typer.Argument(..., metavar="CSR_FILE",
                                   help="The CSR (PEM or DER); - for stdin"),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for root.pem, intermediate.pem, "
                                                       "leaf.pem and chain.p7b"),
    add_san: list[str] = typer.Option([], "--add-san", help="A SAN the CSR did not ask for"),
    drop_san: list[str] = typer.Option([], "--drop-san", help="A SAN of the CSR to leave out"),
    add_cn_to_san: bool = typer.Option(False, "--add-cn-to-san",
                                       help="Copy the subject CN into the SANs"),
    days: int = typer.Option(365, "--days", help="Validity in days"),
    not_before: str | None = typer.Option(None, "--not-before", metavar="TIME",
                                          help="Validity start, ISO 8601 (2030-01-01T00:00:00Z)"),
    no_client_auth: bool = typer.Option(False, "--no-client-auth",
                                        help="Leave clientAuth out of the extended key usage"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document"),
) -> None:
    """Sign a CSR with the lab CA and write the leaf and its chain into a folder."""
    with handled(as_json):
        from uccerts.enroll.labca import SignOptions

        options = SignOptions(add_sans=tuple(add_san), drop_sans=tuple(drop_san),
                              add_cn_to_san=add_cn_to_san, days=days,
                              not_before=_parse_time(not_before),
                              client_auth=not no_client_auth)
        service = _service(state(ctx).settings())
        bundle = service.sign(read_input(csr_file), options)
        written = service.write_bundle(bundle, out)
        if as_json:
            emit_json({"ok": True, "files": [str(p) for p in written]}
                      | _leaf_doc(bundle.leaf))
        else:
            _say_signed(bundle.leaf, written)


def _parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    from uccerts.errors import UsageError

    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--not-before: '{text}' is not an ISO 8601 time",
                         code="invalid-time",
                         fix="Write it like 2030-01-01T00:00:00Z") from None
    # A time without a zone is taken as UTC, the zone every uccerts time is shown in.
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if not 1950 <= moment.year <= 9000:  # X.509 times end in 9999, --days is added on top
        raise UsageError(f"--not-before: {text} is out of range", code="invalid-time",
                         fix="Give a year between 1950 and 9000")
    return moment


def _leaf_doc(leaf: x509.Certificate) -> dict[str, Any]:
    from uccerts.domain.names import sans_of, subject_line
    from uccerts.services.views import sha256_of

    return {
        # Fields outside CN, OU, O, L, ST, C still show, in RFC 4514 form.
        "subject": subject_line(leaf.subject) or leaf.subject.rfc4514_string(),
        "issuer": subject_line(leaf.issuer) or leaf.issuer.rfc4514_string(),
        "sans": sans_of(leaf),
        "serial": format(leaf.serial_number, "x"),
        "not_before": _iso(leaf.not_valid_before_utc),
        "not_after": _iso(leaf.not_valid_after_utc),
        "sha256": sha256_of(leaf),
    }


def _say_signed(leaf: x509.Certificate, written: list[Path]) -> None:
    doc = _leaf_doc(leaf)
    say(f"Signed {doc['subject']} (serial {doc['serial']})")
    say(f"  issuer: {doc['issuer']}")
    say(f"  SANs: {', '.join(doc['sans']) or '(none)'}")
    say(f"  valid {doc['not_before']} to {doc['not_after']}")
    say("Wrote:")
    for path in written:
        say(f"  {path}")
