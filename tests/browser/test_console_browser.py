"""The seed's web steps in a real browser, against a live cluster whose Cisco Tomcat
serves the console: log in, generate and download a CSR, have the lab CA sign it,
upload the certificate before its root (refused), then root, intermediate and leaf,
restart Cisco Tomcat from Control Center and see the new certificate served, reset
all devices from Enterprise Parameters and watch the phones register again."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from live import LiveCluster

pytestmark = pytest.mark.browser

PUB = "cucm-pub"
ORIGIN = f"https://{PUB}.uc.example:8443"
ADMIN, ADMIN_PW = "webadmin", "browser-pass-1"
VIEWER, VIEWER_PW = "webviewer", "browser-view-1"
TIMEOUT_MS = 60_000
# Restarting the Cisco Tomcat that serves the page: the listener goes down and comes
# back with a new TLS context; on a loaded 2-core machine that has taken over 60 s.
RESTART_TIMEOUT_MS = 180_000
RESET_CONFIRM = ("You are about to reset all devices in the system. This action cannot be "
                 "undone. Continue?")


def add_account(live: LiveCluster, user: str, role: str, password: str) -> None:
    done = live.uccerts("admin", "add", user, "--role", role, "--password-stdin",
                        stdin=f"{password}\n".encode())
    assert done.code == 0, done.err


def log_in(page: Any, user: str, password: str) -> None:
    page.goto(f"{ORIGIN}/certificates")
    assert "/login" in page.url
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button:has-text('Login')")
    page.wait_for_url(re.compile(r"/certificates$"))


def shot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def upload(page: Any, purpose: str, file: Path, description: str = "") -> str:
    page.goto(f"{ORIGIN}/certificates/upload")
    page.select_option("select[name=purpose]", purpose)
    page.fill("input[name=description]", description)
    page.set_input_files("input[name=file]", str(file))
    page.click("button:has-text('Upload')")
    page.wait_for_selector("section.status")
    return str(page.inner_text("section.status"))


def seen_by_browser(page: Any, path: str = "/certificates") -> tuple[str, int]:
    """(issuer, valid from) of the certificate this browser receives from the node:
    what the seed checks in the browser's site information after the restart."""
    response = page.goto(f"{ORIGIN}{path}")
    details = response.security_details()
    return details["issuer"], int(details["validFrom"])


def cert_of(path: Path) -> Any:
    from cryptography import x509

    return x509.load_pem_x509_certificate(path.read_bytes())


def test_the_procedure_in_the_browser(live: LiveCluster, browser_for: Any, shots: Path,
                                      tmp_path: Path) -> None:
    add_account(live, ADMIN, "read-write", ADMIN_PW)
    browser = browser_for(live)
    context = browser.new_context(ignore_https_errors=True, accept_downloads=True,
                                  viewport={"width": 1280, "height": 860})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()

    # Log in (an unauthenticated page sends the browser to the login page).
    page.goto(f"{ORIGIN}/certificates")
    page.wait_for_url(re.compile(r"/login\?next="))
    shot(page, shots, "login")
    log_in(page, ADMIN, ADMIN_PW)
    assert page.inner_text("table.certificates").count("tomcat") >= 2
    shot(page, shots, "certificate-list")
    old_sha = live.served(PUB, 8443)
    assert seen_by_browser(page)[0] == f"{PUB}.uc.example"  # self-signed at first

    # Generate CSR (tomcat, this server), then Download CSR.
    page.click("a:has-text('Generate CSR')")
    page.wait_for_selector("text=Generating a new CSR for a specific certificate type will "
                           "overwrite the existing CSR for that type")
    shot(page, shots, "generate-csr")
    page.click("button:has-text('Generate')")
    page.wait_for_selector("text=Success: Certificate Signing Request Generated")
    page.click("a:has-text('Download CSR')")
    page.wait_for_selector("text=Certificate names not listed below do not have a "
                           "corresponding CSR")
    shot(page, shots, "download-csr")
    with page.expect_download() as download:
        page.click("button:has-text('Download CSR')")
    csr = tmp_path / "tomcat.csr"
    download.value.save_as(str(csr))
    assert csr.read_text().startswith("-----BEGIN CERTIFICATE REQUEST-----")

    # The CA signs it.
    signed = tmp_path / "signed"
    done = live.uccerts("ca", "sign", csr, "-o", signed)
    assert done.code == 0, done.err

    # The certificate before its root: the trust-store message, with its fix.
    refused = upload(page, "tomcat", signed / "leaf.pem")
    assert "Error: CA certificate is not available in the trust-store" in refused
    assert "Fix: Upload the root CA certificate, then any intermediate, to tomcat-trust" \
        in refused
    shot(page, shots, "upload-refused")

    # Root, intermediate, then the leaf.
    assert "Certificate upload operation successful" in upload(
        page, "tomcat-trust", signed / "root.pem", "Lab root")
    assert "Certificate upload operation successful" in upload(
        page, "tomcat-trust", signed / "intermediate.pem", "Lab intermediate")
    status = upload(page, "tomcat", signed / "leaf.pem", "CA-signed tomcat")
    assert "Certificate upload operation successful: tomcat on cucm-pub" in status
    assert "cucm-pub: Cisco Tomcat" in page.inner_text("div.restarts")
    shot(page, shots, "upload-success")
    leaf_sha = hashlib.sha256(cert_of(signed / "leaf.pem").public_bytes(Encoding.DER)
                              ).hexdigest()
    page.goto(f"{ORIGIN}/certificates/{PUB}/tomcat")
    assert page.inner_text("[data-sha256]") == leaf_sha
    shot(page, shots, "certificate-detail")
    assert live.served(PUB, 8443) == old_sha  # not served before Cisco Tomcat restarts

    # Control Center: restart Cisco Tomcat of this very node; its events, then the new
    # certificate served (to a TLS handshake, to this browser, and on the page).
    page.goto(f"{ORIGIN}/control-center")
    tomcat_row = page.locator("tr[data-service='Cisco Tomcat']")
    assert "Restart needed" in tomcat_row.inner_text()
    shot(page, shots, "control-center")
    tomcat_row.locator("input[type=radio]").check()
    page.click("button:has-text('Restart')")
    page.wait_for_selector("[data-job][data-done=ok]", timeout=RESTART_TIMEOUT_MS)
    events = page.inner_text("[data-events]").splitlines()
    for event in ("Cisco Tomcat[STOPPING]", "Cisco Tomcat[STARTING]", "Cisco Tomcat[STARTED]"):
        assert event in events
    assert events.index("Cisco Tomcat[STOPPING]") < events.index("Cisco Tomcat[STARTED]")
    assert page.inner_text("[data-result-sha]") == leaf_sha
    shot(page, shots, "control-center-restart")
    assert live.served(PUB, 8443) == leaf_sha
    page.goto(f"{ORIGIN}/control-center")
    assert leaf_sha in page.locator("tr[data-service='Cisco Tomcat']").inner_text()
    leaf = cert_of(signed / "leaf.pem")
    issuer = leaf.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert seen_by_browser(page) == (issuer, int(leaf.not_valid_before_utc.timestamp()))

    # Enterprise Parameters > Reset, with the appliance's confirmation; then the
    # registration counts come back to every phone registered.
    page.goto(f"{ORIGIN}/enterprise-parameters")
    shot(page, shots, "enterprise-parameters")
    seen: list[str] = []

    def accept(dialog: Any) -> None:
        seen.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.click("a:has-text('Reset')")
    page.wait_for_url(re.compile(r"/enterprise-parameters/reset$"))
    assert seen == [RESET_CONFIRM]
    page.click("button:has-text('Reset')")
    page.wait_for_url(re.compile(r"/device-registration\?reset=20$"))
    assert "20 device(s) reset" in page.inner_text("section.status")
    page.wait_for_selector("[data-registration][data-all-registered=yes]")
    assert page.inner_text("[data-count='*|REGISTERED']") == "20"
    assert page.inner_text("[data-summary]") == "All 20 phones are registered."
    assert page.inner_text("[data-phones]").count("REGISTERED") == 20  # the list too
    shot(page, shots, "device-registration")
    phones = live.phones(wait=False)
    assert phones["by_state"]["REGISTERED"] == phones["total"] == 20

    # The audit log names who did each change, from the web.
    page.goto(f"{ORIGIN}/audit")
    audit = page.inner_text("table.audit")
    for action in ("csr generate", "certificate upload", "service restart", "phones reset"):
        assert re.search(rf"{ADMIN}\s+web\s+.*{action}", audit), action
    shot(page, shots, "audit-log")

    page.goto(f"{ORIGIN}/tools")
    page.set_input_files("#decode input[type=file]", str(signed / "leaf.pem"))
    page.click("#decode button:has-text('Decode')")
    page.wait_for_selector("text=Certificate Summary")
    shot(page, shots, "tools")

    # A read-only account sees the pages; a change is refused.
    page.click("button:has-text('Logout')")
    page.wait_for_url(re.compile(r"/login$"))
    add_account(live, VIEWER, "read-only", VIEWER_PW)
    log_in(page, VIEWER, VIEWER_PW)
    page.goto(f"{ORIGIN}/certificates/{PUB}/tomcat")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Regenerate')")
    page.wait_for_selector(f"text={VIEWER} is read-only")
    assert live.uccerts("cert", "show", PUB, "tomcat", "--json").json["sha256"] == leaf_sha
    context.close()
