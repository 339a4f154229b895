"""The CLI's own words for an error: the command or flag that does what the error's
face-neutral ``fix`` says, keyed by the error's stable ``code``.

The inner layers say what to do ("Name the cluster"); only this face knows that it is
done with ``--cluster NAME``. The console and the APIs show the neutral fix alone.
"""

from __future__ import annotations

from uccerts.errors import UccertsError

# code -> the command or flag that acts on the fix; NODE, PURPOSE, SERVICE are the
# values the error's message names.
HINTS: dict[str, str] = {
    "acme-directory-missing": "add --acme-directory https://…/directory",
    "backup-already-running": "uccerts drf backup stop",
    "cluster-ambiguous": "add --cluster NAME",
    "cluster-exists": "use --home DIR for a new store",
    "cluster-not-running": "uccerts serve",
    "console-stopped": "uccerts serve, then uccerts runbook resume ID",
    "control-timeout": "look at the `uccerts serve` output",
    "csr-not-found": "uccerts csr generate NODE PURPOSE",
    "ctl-no-signer": "uccerts cert regenerate NODE ITLRecovery --yes",
    "ctl-non-secure": "uccerts cluster security-mode mixed",
    "file-required": "add --file NAME.pem",
    "invalid-common-name": "give --common-name, or leave it out for the default",
    "invalid-type": "use --type own or --type trust",
    "lab-ca-damaged": "uccerts ca init (after moving the damaged CA aside)",
    "lab-ca-missing": "uccerts ca init",
    "multi-server-not-supported": "use --distribution this-server",
    "no-cluster": "uccerts cluster init --topology FILE.toml",
    "old-certificate-served": 'uccerts service restart NODE "SERVICE"',
    "phones-none-selected": "uccerts phones delete-itl --all | MAC…",
    "phones-not-registered": "uccerts phones status; uccerts phones delete-itl",
    "purpose-not-on-node": "choose the nodes with --nodes",
    "runbook-not-found": "uccerts runbook list",
    "self-signed-only": "uccerts cert regenerate NODE PURPOSE --yes",
    "serve-running": "uccerts service list NODE",
    "service-no-certificate": "uccerts cert regenerate NODE PURPOSE --yes",
    "service-not-activated": 'uccerts service activate NODE "SERVICE"',
    "service-not-started": 'uccerts service start NODE "SERVICE"',
    "trust-file-not-found": "uccerts cert list --node NODE --type trust --purpose STORE",
    "unknown-account": "uccerts admin list",
    "unknown-cluster": "uccerts cluster show",
    "unknown-phone": "uccerts phones status",
}


def hint(err: UccertsError) -> str | None:
    """The CLI command or flag for ``err``'s fix, or None when its fix says it all."""
    return HINTS.get(err.code)
