"""What a phone accepts (domain.md §9), as pure decisions over trust lists.

A phone holds the ITL it last accepted (and, in mixed mode, a CTL). A new file, a
signed config or a CallManager's TLS certificate is accepted when its certificate is
listed in what the phone already trusts; otherwise the phone asks TVS. Asking TVS is
the runtime's job: a judge answers ``ask_tvs=True`` and is called again with
``tvs_trusted`` set (False as well when the TVS server itself is not trusted, see
``judge_tvs_server``).

Why phones break when CallManager and TVS change together: the new ITL's signer is not
in the phone's ITL, and the TVS server's new certificate is not either, so the phone
cannot ask TVS: "ITL mismatch", until the ITL is deleted on the phone.
"""

from __future__ import annotations

from dataclasses import dataclass

from uccerts.domain.trustlist import TrustList, TrustRole

ITL_MISMATCH = "ITL mismatch"
CTL_MISMATCH = "CTL mismatch"
CONFIG_NOT_TRUSTED = "config signature not trusted"
ASK_TVS = "not in the phone's trust list; ask TVS"

_CCM = (TrustRole.CCM_TFTP,)
_TVS = (TrustRole.TVS,)


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str = ""  # "" when accepted
    ask_tvs: bool = False  # True: the decision needs TVS; call again with tvs_trusted set


ACCEPTED = Verdict(True)


def _via_tvs(tvs_trusted: bool | None, mismatch: str) -> Verdict:
    """The last step of every judge: what TVS said, or a request to ask it."""
    if tvs_trusted is None:
        return Verdict(False, ASK_TVS, ask_tvs=True)
    return ACCEPTED if tvs_trusted else Verdict(False, mismatch)


def judge_ctl(current: TrustList | None, offered: TrustList, *,
              tvs_trusted: bool | None = None) -> Verdict:
    """A new CTL: the first is accepted; then its signer must be in the current CTL
    (any role), or TVS must vouch for it."""
    if current is None or current.has(offered.signer_sha256):
        return ACCEPTED
    return _via_tvs(tvs_trusted, CTL_MISMATCH)


def judge_itl(current: TrustList | None, offered: TrustList, *, ctl: TrustList | None = None,
              tvs_trusted: bool | None = None) -> Verdict:
    """A new ITL. Mixed mode (``ctl``): its signer must be in the CTL as CCM+TFTP.
    Then the first ITL is accepted; a later one needs its signer in the current ITL as
    CCM+TFTP, or TVS's word."""
    if ctl is not None and not ctl.has(offered.signer_sha256, _CCM):
        return Verdict(False, CTL_MISMATCH)
    if current is None or current.has(offered.signer_sha256, _CCM):
        return ACCEPTED
    return _via_tvs(tvs_trusted, ITL_MISMATCH)


def judge_tvs_server(itl: TrustList | None, server_cert_sha256: str) -> bool:
    """May the phone ask this TVS server? Only if its certificate is in the ITL as TVS."""
    return itl is not None and itl.has(server_cert_sha256, _TVS)


def judge_config(itl: TrustList, config_signer_sha256: str) -> Verdict:
    """A signed config file: its signer must be in the ITL as CCM+TFTP."""
    if itl.has(config_signer_sha256, _CCM):
        return ACCEPTED
    return Verdict(False, CONFIG_NOT_TRUSTED)


def judge_callmanager(itl: TrustList | None, server_sha256: str, *,
                      ctl: TrustList | None = None,
                      tvs_trusted: bool | None = None) -> Verdict:
    """The CallManager's TLS certificate at registration. Mixed mode: it must be in the
    CTL as CCM+TFTP. A phone without an ITL (non-secure, never got one) accepts it;
    otherwise it must be in the ITL as CCM+TFTP, or TVS must vouch for it."""
    if ctl is not None and not ctl.has(server_sha256, _CCM):
        return Verdict(False, CTL_MISMATCH)
    if itl is None or itl.has(server_sha256, _CCM):
        return ACCEPTED
    return _via_tvs(tvs_trusted, ITL_MISMATCH)
