"""The command-line contract (cli.md) through the real ``uccerts`` command."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from cli_runner import Result, run_uccerts
from databases import PG_URL, open_database

Run = Callable[..., Result]

CERT_KEYS = {"node", "purpose", "type", "filename", "common_name", "issuer", "serial",
             "not_before", "not_after", "key_type", "key_size", "distribution", "self_signed",
             "sans", "sha256", "description"}


def test_init_prints_the_admin_password_once_and_show_lists_nodes(tmp_path: Path) -> None:
    from clusters import TOPOLOGY

    topo = tmp_path / "lab.toml"
    topo.write_text(TOPOLOGY)
    home = tmp_path / "home"
    first = run_uccerts(home, "cluster", "init", "--topology", str(topo))
    assert first.code == 0
    assert "Password (shown once" in first.out
    again = run_uccerts(home, "cluster", "init", "--topology", str(topo), "--json")
    assert again.code == 1 and again.json["errors"][0]["code"] == "cluster-exists"
    shown = run_uccerts(home, "cluster", "show", "--json")
    assert shown.code == 0
    doc = shown.json
    assert doc["name"] == "lab" and doc["security_mode"] == 0
    assert [(n["name"], n["role"]) for n in doc["nodes"]] == [
        ("cucm-pub", "publisher"), ("cucm-sub1", "subscriber"), ("imp-pub", "imp")]
    assert (home / "master.key").stat().st_mode & 0o077 == 0


def test_bad_topology_is_a_clear_error(tmp_path: Path) -> None:
    topo = tmp_path / "bad.toml"
    topo.write_text('[cluster]\nname = "x"\ndomain = "uc.example"\n')
    res = run_uccerts(tmp_path / "home", "cluster", "init", "--topology", str(topo))
    assert res.code == 1
    assert "no nodes are listed" in res.err and "fix:" in res.err
    missing = run_uccerts(tmp_path / "home", "cluster", "init", "--topology",
                          str(tmp_path / "nope.toml"))
    assert missing.code == 1 and "nope.toml" in missing.err


def test_cert_list_json_has_the_documented_fields(uccerts: Run) -> None:
    res = uccerts("cert", "list", "--json")
    assert res.code == 0
    rows = res.json
    assert rows and all(set(r) >= CERT_KEYS for r in rows)
    tomcat = [r for r in rows if r["purpose"] == "tomcat"]
    assert {r["node"] for r in tomcat} == {"cucm-pub", "cucm-sub1", "imp-pub"}
    assert all(r["not_after"].endswith("Z") and r["type"] == "own" for r in tomcat)
    filtered = uccerts("cert", "list", "--node", "imp-pub", "--purpose", "CUP-XMPP",
                       "--json").json
    assert [(r["node"], r["purpose"]) for r in filtered] == [("imp-pub", "cup-xmpp")]
    assert uccerts("cert", "list", "--node", "nope").code == 2
    assert uccerts("cert", "list", "--purpose", "tomcatt").code == 2
    assert "PRIVATE KEY" not in res.out


def test_the_tomcat_procedure(uccerts: Run, tmp_path: Path) -> None:
    gen = uccerts("csr", "generate", "cucm-pub", "tomcat", "--json")
    assert gen.code == 0
    doc = gen.json
    assert doc["replaced"] is False and doc["common_name"] == "cucm-pub.uc.example"
    assert doc["sans"] == ["uc.example", "cucm-pub.uc.example"]
    assert doc["csr"].startswith("-----BEGIN CERTIFICATE REQUEST-----")
    assert set(doc) >= {"node", "purpose", "distribution", "key_type", "key_length", "hash",
                        "nodes"}
    csr_file = tmp_path / "pub.csr"
    assert uccerts("csr", "download", "cucm-pub", "tomcat", "-o", str(csr_file)).code == 0
    assert csr_file.read_text() == doc["csr"]
    out = tmp_path / "ca"
    assert uccerts("ca", "sign", str(csr_file), "-o", str(out)).code == 0

    early = uccerts("cert", "upload", "cucm-pub", "tomcat", str(out / "leaf.pem"), "--json")
    assert early.code == 1
    assert early.json["ok"] is False
    assert early.json["errors"][0]["code"] == "ca-not-in-trust-store"
    text = uccerts("cert", "upload", "cucm-pub", "tomcat", str(out / "leaf.pem"))
    assert "CA certificate is not available in the trust-store" in text.err

    for name in ("root.pem", "intermediate.pem"):
        res = uccerts("cert", "upload", "cucm-pub", "tomcat-trust", str(out / name),
                      "--json")
        assert res.code == 0 and res.json["ok"] is True
    ok = uccerts("cert", "upload", "cucm-pub", "tomcat", str(out / "leaf.pem"), "--json")
    assert ok.code == 0
    assert ok.json["services_to_restart"] == [{"node": "cucm-pub", "service": "Cisco Tomcat"}]
    assert ok.json["installed"][0]["purpose"] == "tomcat"
    assert uccerts("csr", "list", "--json").json == []
    shown = uccerts("cert", "show", "cucm-pub", "tomcat", "--json").json
    assert shown["self_signed"] is False and shown["pem"].startswith("-----BEGIN CERTIFICATE")
    pem_only = uccerts("cert", "show", "cucm-pub", "tomcat", "--pem").out
    assert pem_only == shown["pem"]


def test_san_mismatch_lists_what_the_ca_added(uccerts: Run, tmp_path: Path) -> None:
    assert uccerts("csr", "generate", "cucm-pub", "tomcat", "--distribution",
                   "multi-server").code == 0
    csr_file = tmp_path / "ms.csr"
    uccerts("csr", "download", "cucm-pub", "tomcat", "-o", str(csr_file))
    out = tmp_path / "bad"
    assert uccerts("ca", "sign", str(csr_file), "-o", str(out), "--add-san",
                   "cucm-pub-ms.uc.example").code == 0
    res = uccerts("cert", "upload", "cucm-pub", "tomcat", str(out / "chain.p7b"), "--json")
    assert res.code == 1
    (err,) = res.json["errors"]
    assert err["code"] == "csr-san-mismatch"
    assert err["detail"]["added"] == ["cucm-pub-ms.uc.example"]
    assert err["fix"]


def test_regenerate_needs_confirmation_when_not_interactive(uccerts: Run) -> None:
    before = uccerts("cert", "show", "cucm-sub1", "ipsec", "--json").json
    refused = uccerts("cert", "regenerate", "cucm-sub1", "ipsec", "--json")
    assert refused.code == 1
    assert "overwrite any CA signed certificate" in refused.json["errors"][0]["message"]
    assert uccerts("cert", "show", "cucm-sub1", "ipsec", "--json").json == before
    done = uccerts("cert", "regenerate", "cucm-sub1", "ipsec", "--yes", "--json")
    assert done.code == 0
    assert done.json["certificate"]["sha256"] != before["sha256"]
    assert done.json["services_to_restart"] == [
        {"node": "cucm-sub1", "service": "Cisco DRF Local"}]


def test_bad_input_never_tracebacks_and_changes_nothing(uccerts: Run, cli_home: Path,
                                                        tmp_path: Path) -> None:
    before = uccerts("cert", "list", "--json").out
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 10)
    res = uccerts("cert", "upload", "cucm-pub", "tomcat", str(junk))
    assert res.code == 1 and "Invalid certificate file provided" in res.err
    key = cli_home / "master.key"
    assert uccerts("cert", "upload", "cucm-pub", "tomcat-trust", str(key)).code == 1
    assert uccerts("cert", "upload", "cucm-pub", "tomcat", str(tmp_path / "none.pem")).code == 1
    assert uccerts("cert", "upload", "cucm-x", "tomcat", str(junk)).code in (1, 2)
    assert uccerts("csr", "generate", "cucm-pub", "tomcat", "--key-length", "1000").code == 2
    assert uccerts("csr", "generate", "cucm-pub", "tomcat", "--hash", "SHA1").code == 2
    assert uccerts("csr", "generate", "cucm-pub", "ipsec", "--distribution",
                   "multi-server").code == 2
    assert uccerts("csr", "show", "cucm-pub", "tomcat").code == 2  # no CSR yet
    assert uccerts("cert", "delete", "cucm-pub", "tomcat", "tomcat.pem").code == 2
    assert uccerts("cert", "list", "--json").out == before


def test_no_private_key_in_the_database_or_output(uccerts: Run, cli_home: Path) -> None:
    gen = uccerts("csr", "generate", "cucm-pub", "tomcat")
    assert "PRIVATE KEY" not in gen.out + gen.err
    db = cli_home / "uccerts.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(FULL)")
    raw = b"".join(p.read_bytes() for p in cli_home.glob("uccerts.db*"))
    assert b"PRIVATE KEY" not in raw
    # PKCS#8 DER of an RSA key starts with this AlgorithmIdentifier; sealed blobs never do.
    assert b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01\x05\x00\x04\x82" not in raw


def test_web_security_set_and_show(uccerts: Run) -> None:
    res = uccerts("web-security", "set", "cucm-sub1", "Voice", "Acme", "Seoul", "Seoul", "KR",
                  "--alternate-hostname", "voice.uc.example", "--json")
    assert res.code == 0 and res.json["regenerated"] is True
    shown = uccerts("web-security", "show", "cucm-sub1", "--json").json
    assert shown["orgname"] == "Acme" and shown["alternate_hostnames"] == ["voice.uc.example"]
    cert = uccerts("cert", "show", "cucm-sub1", "tomcat", "--json").json
    assert "voice.uc.example" in cert["sans"]
    bad = uccerts("web-security", "set", "cucm-sub1", "Voice", "Acme", "Seoul", "Seoul",
                  "Korea")
    assert bad.code == 1 and "two-letter" in bad.err


def test_non_utf8_arguments_are_clear_errors(uccerts: Run) -> None:
    bad = "\udcff\udcfe"  # what Python makes of argv bytes that are not UTF-8
    res = uccerts("web-security", "set", "cucm-pub", bad, "Org", "Loc", "St", "US")
    assert res.code == 1 and "not valid UTF-8" in res.err
    res = uccerts("csr", "generate", "cucm-pub", "tomcat", "--common-name", f"a{bad}.com")
    assert res.code == 1 and "not valid UTF-8" in res.err
    assert uccerts("csr", "list", "--json").json == []


def test_expiring_certificates_and_csr_without_ou(uccerts: Run, tmp_path: Path) -> None:
    assert uccerts("cert", "list", "--expires-within", "30", "--json").json == []
    gen = uccerts("csr", "generate", "cucm-sub1", "CallManager", "--no-ou", "--json").json
    csr = tmp_path / "cm.csr"
    csr.write_text(gen["csr"])
    decoded = uccerts("decode", str(csr), "--json").json
    assert decoded["rdns"]["OU"] == "" and decoded["rdns"]["O"] == "Example"
    out = tmp_path / "signed"
    assert uccerts("ca", "sign", str(csr), "-o", str(out), "--days", "10").code == 0
    cas = tmp_path / "cas.pem"
    cas.write_bytes((out / "root.pem").read_bytes() + (out / "intermediate.pem").read_bytes())
    assert uccerts("cert", "upload", "cucm-sub1", "CallManager-trust", str(cas)).code == 0
    assert uccerts("cert", "upload", "cucm-sub1", "CallManager", str(out / "leaf.pem")).code == 0
    soon = uccerts("cert", "list", "--expires-within", "30", "--json").json
    assert [(r["node"], r["purpose"]) for r in soon] == [("cucm-sub1", "CallManager")]


def test_several_clusters_in_one_database(uccerts: Run, tmp_path: Path) -> None:
    from clusters import TOPOLOGY

    other = tmp_path / "east.toml"
    other.write_text(TOPOLOGY.replace('name = "lab"', 'name = "east"', 1)
                     .replace("127.0.1.", "127.0.2."))
    assert uccerts("cluster", "init", "--topology", str(other)).code == 0
    names = [c["name"] for c in uccerts("cluster", "list", "--json").json]
    assert sorted(names) == ["east", "lab"]
    ambiguous = uccerts("cluster", "show", "--json")
    assert ambiguous.code == 2
    assert ambiguous.json["errors"][0]["code"] == "cluster-ambiguous"
    assert uccerts("--cluster", "east", "cluster", "show", "--json").json["name"] == "east"
    east = uccerts("--cluster", "east", "cert", "list", "--node", "cucm-pub", "--json").json
    lab = uccerts("--cluster", "lab", "cert", "list", "--node", "cucm-pub", "--json").json
    assert {r["sha256"] for r in east}.isdisjoint({r["sha256"] for r in lab})


def test_audit_list_shows_changes_and_refusals(uccerts: Run, tmp_path: Path) -> None:
    gen = uccerts("csr", "generate", "cucm-pub", "TVS", "--json").json
    csr = tmp_path / "tvs.csr"
    csr.write_text(gen["csr"])
    uccerts("ca", "sign", str(csr), "-o", str(tmp_path / "s"))
    assert uccerts("cert", "upload", "cucm-pub", "TVS", str(tmp_path / "s" / "leaf.pem")).code == 1
    rows = uccerts("audit", "list", "--json").json
    assert [(r["action"], r["outcome"], r["purpose"]) for r in rows[:2]] == [
        ("certificate upload", "refused", "TVS"), ("csr generate", "ok", "TVS")]
    assert rows[0]["detail"] == "ca-not-in-trust-store"
    assert rows[-1]["action"] == "cluster init" and rows[0]["at"].endswith("Z")
    assert uccerts("audit", "list", "--limit", "0").code == 2
    assert uccerts("--version").out.startswith("uccerts ")


def test_a_wrong_master_key_changes_nothing(uccerts: Run, cli_home: Path) -> None:
    import base64
    import os

    wrong = {"UCCERTS_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}
    before = uccerts("csr", "list", "--json").out
    res = run_uccerts(cli_home, "csr", "generate", "cucm-pub", "tomcat", env_extra=wrong)
    assert res.code == 3 and "master key does not open" in res.err
    assert run_uccerts(cli_home, "cert", "list", env_extra=wrong).code == 3
    assert uccerts("csr", "list", "--json").out == before


def test_concurrent_processes_leave_one_csr(cli_home: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def generate(_: int) -> Result:
        return run_uccerts(cli_home, "csr", "generate", "cucm-pub", "tomcat", "--json")

    with ThreadPoolExecutor(max_workers=4) as pool:  # four separate uccerts processes
        results = list(pool.map(generate, range(4)))
    assert [r.code for r in results] == [0, 0, 0, 0], [r.err for r in results]
    assert sorted(r.json["replaced"] for r in results) == [False, True, True, True]
    pending = run_uccerts(cli_home, "csr", "list", "--json").json
    assert [(c["node"], c["purpose"]) for c in pending] == [("cucm-pub", "tomcat")]
    last = run_uccerts(cli_home, "csr", "show", "cucm-pub", "tomcat").out
    assert last in {r.json["csr"] for r in results}


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="UCCERTS_TEST_PG_URL is not set")
def test_the_procedure_on_postgresql(tmp_path: Path) -> None:
    from clusters import TOPOLOGY

    topo = tmp_path / "lab.toml"
    topo.write_text(TOPOLOGY)
    home = tmp_path / "home"
    with open_database("postgresql", tmp_path) as db:
        def cli(*args: str) -> Result:
            return run_uccerts(home, "--db", db.url, *args)

        assert cli("cluster", "init", "--topology", str(topo)).code == 0
        gen = cli("csr", "generate", "cucm-pub", "tomcat", "--distribution", "multi-server",
                  "--json").json
        csr = tmp_path / "ms.csr"
        csr.write_text(gen["csr"])
        assert cli("ca", "init").code == 0
        assert cli("ca", "sign", str(csr), "-o", str(tmp_path / "s")).code == 0
        up = cli("cert", "upload", "cucm-pub", "tomcat", str(tmp_path / "s" / "chain.p7b"),
                 "--json")
        assert up.code == 0, up.err
        owners = {i["node"] for i in up.json["installed"] if i["purpose"] == "tomcat"}
        assert owners == {"cucm-pub", "cucm-sub1", "imp-pub"}
        assert not (home / "uccerts.db").exists()  # everything went to PostgreSQL


def test_usage_errors_come_before_file_problems_and_odd_values(uccerts: Run, tmp_path: Path
                                                               ) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_text("not a certificate")
    assert uccerts("cert", "upload", "nosuchnode", "tomcat", str(junk)).code == 2
    assert uccerts("cert", "upload", "cucm-pub", "nosuchpurpose", str(junk)).code == 2
    assert uccerts("cert", "upload", "imp-pub", "CAPF", str(junk)).code == 2
    assert uccerts("csr", "generate", "cucm-pub", "ITLRecovery").code == 2
    assert uccerts("cert", "list", "--expires-within", "999999999999").code == 2
    assert uccerts("check", "tomcat", "--csr", "-", "--cert", "-").code == 2
    gen = uccerts("csr", "generate", "cucm-pub", "ipsec", "--json").json
    csr = tmp_path / "ipsec.csr"
    csr.write_text(gen["csr"])
    far = uccerts("ca", "sign", str(csr), "-o", str(tmp_path / "o"), "--not-before",
                  "9999-12-31T00:00:00Z")
    assert far.code == 2 and "out of range" in far.err


def test_csr_download_is_atomic_or_goes_to_stdout(uccerts: Run, tmp_path: Path) -> None:
    gen = uccerts("csr", "generate", "cucm-pub", "TVS", "--json").json
    assert uccerts("csr", "download", "cucm-pub", "TVS", "-o", "-").out == gen["csr"]
    folder = tmp_path / "folder"
    folder.mkdir()
    res = uccerts("csr", "download", "cucm-pub", "TVS", "-o", str(folder))
    assert res.code == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "home"]
    assert list(folder.iterdir()) == []


def test_an_identity_upload_keeps_the_description_given(uccerts: Run, tmp_path: Path) -> None:
    gen = uccerts("csr", "generate", "cucm-sub1", "ipsec", "--json").json
    csr = tmp_path / "c.csr"
    csr.write_text(gen["csr"])
    uccerts("ca", "sign", str(csr), "-o", str(tmp_path / "s"))
    res = uccerts("cert", "upload", "cucm-sub1", "ipsec", str(tmp_path / "s" / "chain.p7b"),
                  "--description", "Renewed: 2026 ticket 42")
    assert res.code == 0, res.err
    shown = uccerts("cert", "show", "cucm-sub1", "ipsec", "--json").json
    assert shown["description"] == "Renewed - 2026 ticket 42"  # no colon (admin shell)


def test_no_home_is_created_by_mistake(tmp_path: Path) -> None:
    typo = tmp_path / "typo"
    res = run_uccerts(typo, "cert", "list")
    assert res.code == 2 and "no uccerts home" in res.err
    bad = tmp_path / "bad.toml"
    bad.write_text('[cluster]\nname = "x"\n')
    assert run_uccerts(typo, "cluster", "init", "--topology", str(bad)).code == 1
    assert not typo.exists()
