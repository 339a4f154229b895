"""phone_trust: what a phone accepts (domain.md §9), every branch and the seed's cases."""

from __future__ import annotations

import functools

import pytest

from tests.pki import CA, NOW, RSA_LEAF_KU
from uccerts.domain.phone_trust import (
    ASK_TVS,
    Verdict,
    judge_callmanager,
    judge_config,
    judge_ctl,
    judge_itl,
    judge_tvs_server,
)
from uccerts.domain.signedfile import cert_sha256
from uccerts.domain.trustlist import (
    TrustList,
    TrustRecord,
    TrustRole,
    build_ctl,
    build_itl,
    read_trust_list,
)

ACCEPTED = Verdict(True)
ASK = Verdict(False, ASK_TVS, ask_tvs=True)


@functools.cache
def identity(cn: str) -> CA:
    return CA.root(cn, key_type="rsa", ca=False, key_usage=RSA_LEAF_KU)


# Before and after regeneration: CallManager (signs the ITL) and TVS of the publisher.
CM1, CM2 = identity("cm-pub-1"), identity("cm-pub-2")
TVS1, TVS2 = identity("tvs-pub-1"), identity("tvs-pub-2")
CAPF, RECOVERY, ROGUE = identity("capf"), identity("itlrecovery"), identity("rogue")


def sha(who: CA) -> str:
    return cert_sha256(who.cert)


def itl(cm: CA, tvs: CA, signer: CA | None = None) -> TrustList:
    records = [TrustRecord(TrustRole.CCM_TFTP, "cucm-pub", cm.cert),
               TrustRecord(TrustRole.TVS, "cucm-pub", tvs.cert),
               TrustRecord(TrustRole.CAPF, "cucm-pub", CAPF.cert)]
    signer = signer or cm
    return read_trust_list(build_itl(records, signer.cert, signer.key, issued=NOW), "ITL")


def ctl(*cms: CA, signer: CA = RECOVERY) -> TrustList:
    records = [TrustRecord(TrustRole.SAST, "cucm-pub", RECOVERY.cert),
               TrustRecord(TrustRole.CAPF, "cucm-pub", CAPF.cert),
               *(TrustRecord(TrustRole.CCM_TFTP, "cucm-pub", cm.cert) for cm in cms)]
    return read_trust_list(build_ctl(records, signer.cert, signer.key, issued=NOW), "CTL")


OLD = itl(CM1, TVS1)  # what the phones hold


# ------------------------------------------------------------------ judge_itl


def test_first_itl_is_accepted() -> None:
    assert judge_itl(None, OLD) == ACCEPTED


def test_itl_signed_by_a_listed_callmanager_is_accepted() -> None:
    assert judge_itl(OLD, itl(CM1, TVS2)) == ACCEPTED


def test_itl_signer_listed_in_another_role_does_not_count() -> None:
    by_tvs = itl(CM2, TVS1, signer=TVS1)
    assert judge_itl(OLD, by_tvs) == ASK


@pytest.mark.parametrize(("tvs", "verdict"), [(None, ASK), (True, ACCEPTED),
                                              (False, Verdict(False, "ITL mismatch"))])
def test_unknown_itl_signer_goes_to_tvs(tvs: bool | None, verdict: Verdict) -> None:
    assert judge_itl(OLD, itl(CM2, TVS1), tvs_trusted=tvs) == verdict


def test_mixed_mode_itl_signer_must_be_in_the_ctl_as_callmanager() -> None:
    assert judge_itl(OLD, itl(CM1, TVS1), ctl=ctl(CM1)) == ACCEPTED
    assert judge_itl(None, itl(CM2, TVS1), ctl=ctl(CM1), tvs_trusted=True) == Verdict(
        False, "CTL mismatch")
    assert judge_itl(OLD, itl(CM1, TVS1, signer=CAPF), ctl=ctl(CM1)) == Verdict(
        False, "CTL mismatch")  # CAPF is in the CTL, but not as CCM+TFTP
    assert judge_itl(OLD, itl(CM2, TVS1), ctl=ctl(CM1, CM2)) == ASK


# ------------------------------------------------------------------ judge_ctl


def test_first_ctl_is_accepted() -> None:
    assert judge_ctl(None, ctl(CM1)) == ACCEPTED


def test_ctl_signer_listed_in_any_role_is_accepted() -> None:
    assert judge_ctl(ctl(CM1), ctl(CM2)) == ACCEPTED  # same SAST signer
    assert judge_ctl(ctl(CM1), ctl(CM2, signer=CM1)) == ACCEPTED  # listed as CCM+TFTP


@pytest.mark.parametrize(("tvs", "verdict"), [(None, ASK), (True, ACCEPTED),
                                              (False, Verdict(False, "CTL mismatch"))])
def test_unknown_ctl_signer_goes_to_tvs(tvs: bool | None, verdict: Verdict) -> None:
    assert judge_ctl(ctl(CM1), ctl(CM1, signer=ROGUE), tvs_trusted=tvs) == verdict


# ------------------------------------------------------------------ TVS, config, CallManager


def test_tvs_server_must_be_in_the_itl_as_tvs() -> None:
    assert judge_tvs_server(OLD, sha(TVS1))
    assert not judge_tvs_server(OLD, sha(TVS2))
    assert not judge_tvs_server(OLD, sha(CM1))  # listed, but as CCM+TFTP
    assert not judge_tvs_server(None, sha(TVS1))


def test_config_signer_must_be_in_the_itl_as_callmanager() -> None:
    assert judge_config(OLD, sha(CM1)) == ACCEPTED
    assert judge_config(OLD, sha(TVS1)) == Verdict(False, "config signature not trusted")
    assert judge_config(OLD, sha(CM2)) == Verdict(False, "config signature not trusted")


def test_callmanager_without_any_itl_is_accepted() -> None:
    assert judge_callmanager(None, sha(ROGUE)) == ACCEPTED


def test_callmanager_in_the_itl_is_accepted() -> None:
    assert judge_callmanager(OLD, sha(CM1)) == ACCEPTED
    assert judge_callmanager(OLD, sha(TVS1)) == ASK  # listed, but as TVS


@pytest.mark.parametrize(("tvs", "verdict"), [(None, ASK), (True, ACCEPTED),
                                              (False, Verdict(False, "ITL mismatch"))])
def test_unknown_callmanager_goes_to_tvs(tvs: bool | None, verdict: Verdict) -> None:
    assert judge_callmanager(OLD, sha(CM2), tvs_trusted=tvs) == verdict


def test_mixed_mode_callmanager_must_be_in_the_ctl() -> None:
    assert judge_callmanager(OLD, sha(CM1), ctl=ctl(CM1)) == ACCEPTED
    assert judge_callmanager(None, sha(CM1), ctl=ctl(CM1)) == ACCEPTED
    assert judge_callmanager(OLD, sha(CM2), ctl=ctl(CM1), tvs_trusted=True) == Verdict(
        False, "CTL mismatch")
    assert judge_callmanager(OLD, sha(CM2), ctl=ctl(CM1, CM2)) == ASK


# ------------------------------------------------------------------ the seed's scenarios


def phone_resets(current: TrustList | None, offered: TrustList, served_tvs: CA,
                 tvs_knows: set[str], ctl_held: TrustList | None = None
                 ) -> tuple[Verdict, TrustList | None]:
    """A phone's reset as the runtime drives it: judge the ITL, ask TVS if needed (only
    a TVS whose certificate is in the phone's ITL), then judge the config and the
    CallManager's certificate. Returns the final verdict and the ITL the phone keeps."""
    verdict = judge_itl(current, offered, ctl=ctl_held)
    if verdict.ask_tvs:
        reachable = judge_tvs_server(current, sha(served_tvs))
        verdict = judge_itl(current, offered, ctl=ctl_held,
                            tvs_trusted=reachable and offered.signer_sha256 in tvs_knows)
    held = offered if verdict.accepted else current
    if not verdict.accepted:
        return verdict, held
    assert held is not None
    config = judge_config(held, offered.signer_sha256)
    if not config.accepted:
        return config, held
    return judge_callmanager(held, offered.signer_sha256, ctl=ctl_held), held


def test_callmanager_alone_changed_tvs_vouches() -> None:
    new = itl(CM2, TVS1)
    assert judge_itl(OLD, new) == ASK
    verdict, held = phone_resets(OLD, new, TVS1, tvs_knows={sha(CM2)})
    assert verdict == ACCEPTED
    assert held is new


def test_tvs_alone_changed_signer_still_listed() -> None:
    new = itl(CM1, TVS2)
    verdict, held = phone_resets(OLD, new, TVS2, tvs_knows={sha(CM1)})
    assert verdict == ACCEPTED
    assert held is new


def test_callmanager_and_tvs_changed_together_break_the_phone() -> None:
    new = itl(CM2, TVS2)
    assert not judge_tvs_server(OLD, sha(TVS2))  # the phone cannot ask the new TVS
    verdict, held = phone_resets(OLD, new, TVS2, tvs_knows={sha(CM2)})
    assert verdict == Verdict(False, "ITL mismatch")
    assert held is OLD
    # With the old ITL kept, the new signed config is rejected too.
    assert judge_config(OLD, sha(CM2)) == Verdict(False, "config signature not trusted")


def test_deleting_the_itl_recovers_the_phone() -> None:
    new = itl(CM2, TVS2)
    verdict, held = phone_resets(None, new, TVS2, tvs_knows=set())
    assert verdict == ACCEPTED
    assert held is new


def test_mixed_mode_without_ctl_update_is_a_ctl_mismatch() -> None:
    new = itl(CM2, TVS1)
    verdict, held = phone_resets(OLD, new, TVS1, tvs_knows={sha(CM2)}, ctl_held=ctl(CM1))
    assert verdict == Verdict(False, "CTL mismatch")
    assert held is OLD
    assert judge_callmanager(new, sha(CM2), ctl=ctl(CM1)) == Verdict(False, "CTL mismatch")
    # After utils ctl update CTLFile, the phone accepts the new CTL, then the ITL.
    updated = ctl(CM1, CM2)
    assert judge_ctl(ctl(CM1), updated) == ACCEPTED
    verdict, held = phone_resets(OLD, new, TVS1, tvs_knows={sha(CM2)}, ctl_held=updated)
    assert verdict == ACCEPTED
    assert held is new
