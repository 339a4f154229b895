"""A runbook from the console, in a real browser, against a live cluster: plan tomcat,
meet the SAML SSO guard once SSO is on, tick its override, start, and follow every step
to done, the Cisco Tomcat serving this very page restarted on the way; then each node
serves its new certificate."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from live import LiveCluster
from tests.browser.test_console_browser import (
    ADMIN,
    ADMIN_PW,
    ORIGIN,
    PUB,
    TIMEOUT_MS,
    add_account,
    log_in,
    shot,
)

pytestmark = pytest.mark.browser

NODES = ("cucm-pub", "cucm-sub1", "imp-pub")
RUN_TIMEOUT_MS = 180_000


def test_a_tomcat_runbook_in_the_browser(live: LiveCluster, browser_for: Any,
                                         shots: Path) -> None:
    add_account(live, ADMIN, "read-write", ADMIN_PW)
    before = {node: live.served(node, 8443) for node in NODES}
    browser = browser_for(live)
    context = browser.new_context(ignore_https_errors=True,
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    log_in(page, ADMIN, ADMIN_PW)

    # Plan tomcat: no guard while SSO is off.
    page.click("nav a:has-text('Runbooks')")
    page.wait_for_url(re.compile(r"/runbooks$"))
    assert "No runbook yet." in page.inner_text("main")
    page.select_option("select[name=purpose]", "tomcat")
    page.click("button:has-text('Plan')")
    page.wait_for_selector("[data-plan][data-refused=no]")
    assert "No guard applies to this plan." in page.inner_text("[data-plan]")

    # SAML SSO on (Enterprise Parameters): the plan is refused, its guard and override
    # shown, and Start cannot be pressed.
    page.goto(f"{ORIGIN}/enterprise-parameters")
    page.click("button:has-text('Enable')")
    page.wait_for_selector("[data-sso]:has-text('Enabled')")
    page.goto(f"{ORIGIN}/runbooks?purpose=tomcat")
    page.wait_for_selector("[data-plan][data-refused=yes]")
    guard = page.locator("tr[data-guard='sso-enabled']")
    assert "SAML SSO is enabled" in guard.inner_text()
    assert "--manage-sso" in guard.inner_text()
    assert page.locator("form.start button:has-text('Start')").is_disabled()
    page.fill("#folder", "csr-out")  # the screenshot shows no folder of this machine
    shot(page, shots, "runbook-refused")

    # Tick --manage-sso and plan again: overridden, SSO steps around the regeneration.
    page.check("input[name=overrides][value='--manage-sso']")
    page.click("button:has-text('Plan')")
    page.wait_for_selector("[data-plan][data-refused=no]")
    assert "Overridden (--manage-sso ticked)" in page.locator(
        "tr[data-guard='sso-enabled']").inner_text()
    steps = page.inner_text("[data-plan] table.steps")
    assert "disable-sso" in steps and "enable-sso" in steps
    page.fill("#folder", "csr-out")
    shot(page, shots, "runbook-plan")

    # Start (with its confirmation); the page follows the steps until done, through
    # the restart of the Cisco Tomcat that serves it.
    confirmations: list[str] = []

    def accept(dialog: Any) -> None:
        confirmations.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.click("form.start button:has-text('Start')")
    page.wait_for_url(re.compile(r"/runbooks/(jobs/|view\?id=)"))
    assert confirmations and "Run these steps?" in confirmations[0]
    page.wait_for_selector("[data-runbook][data-state=done]", timeout=RUN_TIMEOUT_MS)
    page.wait_for_url(re.compile(r"/runbooks/view\?id=\d+$"))
    rows = page.locator("[data-steps] tr")
    assert rows.count() > 10
    states = page.locator("[data-steps] td.state").all_inner_texts()
    assert states == ["done"] * rows.count()
    shot(page, shots, "runbook-done")

    # Each node serves its new certificate, the one the runbook verified.
    served_rows = page.locator("[data-steps] tr:has(td:text-is('verify-served'))")
    verified = served_rows.all_inner_texts()
    for node in NODES:
        now = live.served(node, 8443)
        assert now != before[node], node
        assert now == live.service_sha(node, "Cisco Tomcat")
        shown = live.uccerts("cert", "show", node, "tomcat", "--json").json
        assert shown["sha256"] == now and shown["self_signed"] is False
        assert any(node in row and now in row for row in verified), (node, verified)
    assert live.uccerts("cluster", "show", "--json").json["sso_enabled"] is True

    # The list shows it done; the audit names the web user.
    page.click("a:has-text('Back to Runbooks')")
    listing = page.inner_text("table.runbooks")
    assert re.search(r"tomcat\s+done\s+(\d+)/\1", listing), listing
    page.goto(f"{ORIGIN}/audit")
    audit = page.inner_text("table.audit")
    for action in ("runbook start", "csr generate", "certificate upload", "service restart"):
        assert re.search(rf"{ADMIN}\s+web\s+.*{action}", audit), action
    assert PUB in audit
    context.close()
