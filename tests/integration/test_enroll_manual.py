"""The manual CA against a real one: OpenSSL's command line signs the exported CSRs.

The CA is made per test with ``openssl`` (a root, an intermediate signed by it) and
answers the way real CAs do: a DER ``.cer``, a PEM bundle of the CA certificates, a
PKCS#7 ``.p7b``, under names that have nothing to do with the CSRs'. ``collect`` must
match every reply by public key and build its chain from whatever is in the folder.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from pki import make_csr
from uccerts.domain import codec
from uccerts.domain.keys import same_public_key
from uccerts.enroll.manual import collect, export_csrs
from uccerts.errors import NotFound, UsageError

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")

EXTENSIONS = """\
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[intermediate]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
authorityKeyIdentifier = keyid
"""


def openssl(cwd: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True,
                   stdin=subprocess.DEVNULL, timeout=60)


class OpenSslCA:
    """A two-tier CA driven through the openssl command line, files in ``work``."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.serial = 1
        work.mkdir(parents=True, exist_ok=True)
        (work / "ext.cnf").write_text(EXTENSIONS)
        openssl(work, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "root.key",
                "-out", "root.pem", "-days", "30", "-subj", "/O=Test/CN=Test Root CA",
                "-config", "ext.cnf", "-extensions", "ca")
        openssl(work, "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "int.key",
                "-out", "int.csr", "-subj", "/O=Test/CN=Test Issuing CA",
                "-config", "ext.cnf")
        self._sign("int.csr", "int.pem", "root.pem", "root.key", "intermediate")

    def _sign(self, csr: str, out: str, ca: str, ca_key: str, section: str,
              *form: str) -> Path:
        self.serial += 1
        openssl(self.work, "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                "-set_serial", str(self.serial), "-days", "30", "-extfile", "ext.cnf",
                "-extensions", section, "-out", out, *form)
        return self.work / out

    def sign(self, csr_file: Path, out: str, *, der: bool = False) -> Path:
        """The leaf for ``csr_file`` from the intermediate, PEM or DER."""
        return self._sign(str(csr_file), out, "int.pem", "int.key", "leaf",
                          *(("-outform", "DER") if der else ()))

    def p7b(self, out: Path, *pem_files: Path) -> None:
        files = [arg for f in pem_files for arg in ("-certfile", str(f))]
        openssl(self.work, "crl2pkcs7", "-nocrl", *files, "-outform", "DER", "-out", str(out))

    def unrelated(self, out: str) -> Path:
        """A leaf for a key no CSR of ours has."""
        openssl(self.work, "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout",
                "other.key", "-out", "other.csr", "-subj", "/CN=other.uc.example",
                "-config", "ext.cnf")
        return self._sign("other.csr", out, "int.pem", "int.key", "leaf")

    def cert(self, name: str) -> x509.Certificate:
        return codec.load_certificates((self.work / name).read_bytes())[0]


NAMES = ("cucm-pub-tomcat", "cucm-pub-callmanager", "cucm-sub-tomcat")


@pytest.fixture
def csrs() -> dict[str, x509.CertificateSigningRequest]:
    made = {name: make_csr(f"{name.split('-')[1]}.uc.example",
                           [f"{name.split('-')[1]}.uc.example"],
                           key_type="ec" if "callmanager" in name else "rsa")[0]
            for name in NAMES}
    return made


def test_export_writes_one_pem_csr_per_name(
        tmp_path: Path, csrs: dict[str, x509.CertificateSigningRequest]) -> None:
    folder = tmp_path / "out" / "csrs"
    paths = export_csrs(folder, csrs)
    assert paths == [folder / f"{name}.csr" for name in NAMES]
    for name, path in zip(NAMES, paths, strict=True):
        assert path.read_bytes().startswith(b"-----BEGIN CERTIFICATE REQUEST-----")
        assert codec.load_csr(path.read_bytes()) == csrs[name]
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.csr" for n in NAMES)
    # Again: replaced in place, still no temporary files left behind.
    export_csrs(folder, csrs)
    assert len(list(folder.iterdir())) == len(NAMES)


@pytest.mark.parametrize("bad", ["", "../evil", "a/b", ".hidden", "sp ace"])
def test_export_refuses_names_that_are_not_file_names(
        tmp_path: Path, csrs: dict[str, x509.CertificateSigningRequest], bad: str) -> None:
    with pytest.raises(UsageError) as caught:
        export_csrs(tmp_path / "csrs", {bad: csrs["cucm-pub-tomcat"]})
    assert caught.value.code == "invalid-csr-name"
    assert not (tmp_path / "csrs").exists()


def _replies(tmp_path: Path, csrs: dict[str, x509.CertificateSigningRequest],
             tomcat_name: str, callmanager_name: str) -> tuple[Path, OpenSslCA]:
    """The folder as an administrator leaves it after the CA answered two of three."""
    folder = tmp_path / "exchange"
    export_csrs(folder, csrs)
    ca = OpenSslCA(tmp_path / "ca")
    # tomcat: DER leaf alone; the CA certificates come in a separate PEM bundle.
    ca.sign(folder / "cucm-pub-tomcat.csr", "tomcat.der", der=True)
    shutil.copy(ca.work / "tomcat.der", folder / tomcat_name)
    (folder / "bundle.pem").write_bytes((ca.work / "int.pem").read_bytes()
                                        + (ca.work / "root.pem").read_bytes())
    # CallManager: a PKCS#7 with leaf, intermediate and root (in any order).
    leaf = ca.sign(folder / "cucm-pub-callmanager.csr", "callmanager.pem")
    ca.p7b(folder / callmanager_name, ca.work / "root.pem", leaf, ca.work / "int.pem")
    # Noise: a certificate for another key, a damaged reply, notes, a private key.
    shutil.copy(ca.unrelated("other.pem"), folder / "someone-else.crt")
    (folder / "broken.cer").write_bytes((ca.work / "tomcat.der").read_bytes()[:200])
    (folder / "README.txt").write_text("signed by the PKI team, ticket 4711\n")
    shutil.copy(ca.work / "other.key", folder / "other.key")
    (folder / "subfolder").mkdir()
    return folder, ca


@pytest.mark.parametrize(("tomcat_name", "callmanager_name"), [
    ("reply1.cer", "reply2.p7b"),
    # Swapped: each reply carries the OTHER CSR's name; matching ignores names.
    ("cucm-pub-callmanager.cer", "cucm-pub-tomcat.p7b"),
])
def test_collect_matches_replies_by_public_key_and_builds_chains(
        tmp_path: Path, csrs: dict[str, x509.CertificateSigningRequest],
        tomcat_name: str, callmanager_name: str) -> None:
    folder, ca = _replies(tmp_path, csrs, tomcat_name, callmanager_name)
    issued = collect(folder, csrs)

    assert set(issued) == {"cucm-pub-tomcat", "cucm-pub-callmanager"}  # sub: no reply
    root, intermediate = ca.cert("root.pem"), ca.cert("int.pem")
    for name, result in issued.items():
        assert same_public_key(result.leaf.public_key(), csrs[name].public_key())
        assert result.leaf.subject == csrs[name].subject
        assert result.intermediates == (intermediate,)
        assert result.root == root
        assert result.chain == (result.leaf, intermediate, root)
        assert codec.load_certificates(result.chain_pem()) == list(result.chain)
    assert issued["cucm-pub-tomcat"].leaf == ca.cert("tomcat.der")
    assert issued["cucm-pub-callmanager"].leaf == ca.cert("callmanager.pem")


def test_collect_without_the_root_gives_the_chain_it_has(
        tmp_path: Path, csrs: dict[str, x509.CertificateSigningRequest]) -> None:
    folder = tmp_path / "exchange"
    export_csrs(folder, csrs)
    ca = OpenSslCA(tmp_path / "ca")
    ca.sign(folder / "cucm-pub-tomcat.csr", "tomcat.pem")
    ca.sign(folder / "cucm-sub-tomcat.csr", "sub.pem")
    # tomcat with its intermediate only; sub alone, nothing above it.
    (folder / "certnew.cer").write_bytes((ca.work / "tomcat.pem").read_bytes()
                                         + (ca.work / "int.pem").read_bytes())
    issued = collect(folder, {"cucm-pub-tomcat": csrs["cucm-pub-tomcat"]})
    assert issued["cucm-pub-tomcat"].intermediates == (ca.cert("int.pem"),)
    assert issued["cucm-pub-tomcat"].root is None

    (folder / "certnew.cer").unlink()
    shutil.copy(ca.work / "sub.pem", folder / "certnew.cer")
    alone = collect(folder, csrs)
    assert set(alone) == {"cucm-sub-tomcat"}
    assert alone["cucm-sub-tomcat"].intermediates == ()
    assert alone["cucm-sub-tomcat"].root is None
    assert alone["cucm-sub-tomcat"].chain_pem() == (ca.work / "sub.pem").read_bytes()


def test_collect_with_no_replies_yet_is_empty(
        tmp_path: Path, csrs: dict[str, x509.CertificateSigningRequest]) -> None:
    folder = tmp_path / "exchange"
    export_csrs(folder, csrs)
    assert collect(folder, csrs) == {}


def test_collect_from_a_missing_folder_says_so(
        tmp_path: Path, csrs: dict[str, x509.CertificateSigningRequest]) -> None:
    with pytest.raises(NotFound) as caught:
        collect(tmp_path / "nowhere", csrs)
    assert caught.value.code == "folder-not-found"
