"""The console's Runbooks page over a real cluster store (in memory, fast keys), the
home's lab CA in a temporary folder and a fake of the running cluster: plan with its
guards and overrides, start (a background job, audited as the web user), follow the
steps, resume after a failure and after a manual CA's answer."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from clusters import pem, sign
from tests.integration.web_console import (
    BASE,
    NODE,
    READER,
    READER_PW,
    WRITER,
    WRITER_PW,
    Console,
    FakeControl,
    TestClient,
    cluster_services,
)
from uccerts.app import create_app
from uccerts.bootstrap import Services
from uccerts.config import Settings
from uccerts.domain.runbook import CaKind
from uccerts.domain.runbook_options import AcmeSettings
from uccerts.errors import SystemFailure
from uccerts.services.ca import LabCaService
from uccerts.services.views import sha256_of

WAIT_S = 30.0


@dataclass
class RunbookControl(FakeControl):
    """The fake cluster, with the phone wait a runbook asks for, and restarts that can
    be made to fail."""

    failing_restarts: int = 0

    async def answer(self, op: str, args: dict[str, Any], emit: Any) -> Any:
        if op == "phones.wait":
            for mac in self.phones:
                self.phones[mac] = "REGISTERED"
            return {"status": await super().answer("phones.status", {}, emit)}
        if op == "service.restart" and self.failing_restarts:
            self.failing_restarts -= 1
            raise SystemFailure(f"{args['service']} did not start", code="service-failed",
                                fix="See the serve log")
        return await super().answer(op, args, emit)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home = tmp_path_factory.mktemp("runbooks") / "home"
    settings = Settings(home=home, db_url="sqlite://")
    from clusters import now

    LabCaService(settings, now).init()
    return settings


@pytest.fixture
def services() -> Services:
    return cluster_services()


@pytest.fixture
def control() -> RunbookControl:
    return RunbookControl()


@contextmanager
def runbook_console(services: Services, control: RunbookControl | None,
                    settings: Settings | None) -> Iterator[Console]:
    app = create_app(services, NODE, control, settings=settings)
    with TestClient(app, base_url=BASE) as client:
        yield Console(client)


@pytest.fixture
def web(services: Services, control: RunbookControl, settings: Settings
        ) -> Iterator[Console]:
    with runbook_console(services, control, settings) as client:
        assert client.login(WRITER, WRITER_PW).status_code == 303
        yield client


def text(response: Any) -> str:
    body = html.unescape(re.sub(r"<[^>]+>", " ", response.text))
    return " ".join(body.split())


def plan_page(web: Console, purpose: str = "tomcat", **fields: Any) -> Any:
    query = {"purpose": purpose, **fields}
    return web.get("/runbooks", params=query)


def start(web: Console, purpose: str = "tomcat", **fields: Any) -> Any:
    web.get("/runbooks")
    return web.post("/runbooks/start", {"purpose": purpose, **fields})


def follow(web: Console, url: str) -> dict[str, Any]:
    """Poll a status URL until the runbook rests (not running here any more)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        data: dict[str, Any] = web.client.get(url).json()
        doc = data["runbook"]
        resting = not data["active"] and (
            (doc is not None and doc["state"] in ("done", "failed", "waiting"))
            or (doc is None and data.get("job", {}).get("done")))
        if resting:
            return data
        assert time.monotonic() < deadline, data
        time.sleep(0.05)


def started(web: Console, response: Any) -> dict[str, Any]:
    assert response.status_code == 303, text(response)
    location = response.headers["location"]
    match = re.fullmatch(r"/runbooks/jobs/([\w-]+)", location)
    assert match, location
    return follow(web, f"{location}/status.json")


def audit(services: Services) -> list[tuple[str, str, str, str]]:
    return [(e.actor, e.source, e.action, e.outcome) for e in services.audit.entries(1000)]


# ------------------------------------------------------------------ list and plan


def test_the_page_lists_runbooks_and_offers_the_plan_form(web: Console) -> None:
    page = web.get("/runbooks")
    assert page.status_code == 200
    assert 'href="/runbooks"' in page.text and ">Runbooks</a>" in page.text  # the menu
    body = text(page)
    assert "No runbook yet." in body
    for field in ('name="purpose"', 'name="nodes"', 'name="distribution"', 'name="ca"',
                  'name="acme_directory"', 'name="folder"', 'value="--manage-sso"',
                  'value="--allow-itl-risk"', 'value="--ignore-backup"',
                  'value="--allow-capf-node"'):
        assert field in page.text, field
    assert "<script>" not in page.text


def test_the_plan_shows_the_steps_in_order(web: Console) -> None:
    page = plan_page(web, "tomcat")
    assert page.status_code == 200
    assert 'data-refused="no"' in page.text and "No guard applies" in text(page)
    actions = re.findall(r'<td class="mono">([a-z-]+)</td>', page.text)
    assert actions[:3] == ["check-expiry"] * 3
    assert actions.index("generate-csr") < actions.index("enroll") < actions.index(
        "upload-trust") < actions.index("upload-identity") < actions.index("restart") \
        < actions.index("verify-served")
    start_button = re.search(r"<button[^>]*>Start</button>", page.text)
    assert start_button and "disabled" not in start_button.group(0)
    one = plan_page(web, "tomcat", nodes=["cucm-sub1"])
    assert "Plan: tomcat on cucm-sub1" in text(one)


def test_a_guard_shows_its_message_and_override_and_refuses_the_start(
        web: Console, services: Services, control: RunbookControl) -> None:
    services.security.set_sso(True)
    page = plan_page(web, "tomcat")
    assert 'data-refused="yes"' in page.text
    body = text(page)
    assert "sso-enabled" in body and "SAML SSO is enabled" in body
    assert "Refused: tick --manage-sso and plan again" in body
    start_button = re.search(r"<button[^>]*>Start</button>", page.text)
    assert start_button and "disabled" in start_button.group(0)
    # The override ticked: the guard is still shown, overridden; SSO steps join the plan.
    ticked = plan_page(web, "tomcat", overrides=["--manage-sso"])
    assert 'data-refused="no"' in ticked.text
    body = text(ticked)
    assert "sso-enabled" in body and "Overridden (--manage-sso ticked)" in body
    assert "disable-sso" in body and "enable-sso" in body
    # Posting the refused plan anyway: 409, nothing started, the refusal audited.
    before = len(control.ops())
    refused = start(web, "tomcat")
    assert refused.status_code == 409
    assert "SAML SSO is enabled" in text(refused)
    assert "Tick --manage-sso and plan again" in text(refused)
    assert [op for op in control.ops()[before:] if op != "phones.status"] == []
    assert (WRITER, "web", "runbook start", "refused") in audit(services)
    assert "No runbook yet." in text(web.get("/runbooks"))


def test_planning_errors_and_missing_fields_are_shown(web: Console) -> None:
    unknown = plan_page(web, "no-such-purpose")
    assert unknown.status_code == 404 and "Fix:" in text(unknown)
    node = plan_page(web, "tomcat", nodes=["nowhere"])
    assert node.status_code == 400 and "Unknown node 'nowhere'" in text(node)
    acme = start(web, "tomcat", ca="acme")
    assert acme.status_code == 400
    assert "The ACME CA needs its directory URL" in text(acme)


# ------------------------------------------------------------------ start and follow


def test_start_runs_in_the_background_to_done_as_the_web_user(
        web: Console, services: Services, control: RunbookControl) -> None:
    services.security.set_sso(True)
    response = start(web, "tomcat", nodes=[NODE], overrides=["--manage-sso"])
    data = started(web, response)
    doc = data["runbook"]
    assert doc["state"] == "done" and data["error"] is None
    assert doc["done"] == doc["total"] == len(doc["steps"])
    assert [s["state"] for s in doc["steps"]] == ["done"] * doc["total"]
    assert doc["steps"][1]["action"] == "disable-sso"
    assert doc["steps"][-1]["action"] == "enable-sso"
    # The control calls carried the user, from the web; Cisco Tomcat was restarted.
    restarts = [c for c in control.calls if c[0] == "service.restart"]
    assert restarts == [("service.restart", {"node": NODE, "service": "Cisco Tomcat"},
                         WRITER, "web")]
    entries = audit(services)
    for action in ("runbook start", "csr generate", "certificate upload"):
        assert (WRITER, "web", action, "ok") in entries, action
    # The certificate is the lab CA's now.
    shown = services.certificates.show(NODE, "tomcat")
    assert not shown.self_signed
    # The job page and the runbook's own page and JSON.
    page = web.get(response.headers["location"])
    assert page.status_code == 200 and f"{doc['id']}: tomcat" in text(page)
    detail = web.get(f"/runbooks/view?id={doc['id']}")
    assert detail.status_code == 200
    assert 'data-state="done"' in detail.text
    assert f"done: {doc['total']} of {doc['total']} steps done" in text(detail)
    assert "<script>" not in detail.text
    status = web.client.get(f"/runbooks/status.json?id={doc['id']}").json()
    assert status["runbook"]["state"] == "done" and status["resumable"] is False
    listing = text(web.get("/runbooks"))
    assert f"{doc['id']} tomcat done {doc['total']}/{doc['total']}" in listing
    # A done runbook is not resumed.
    again = web.post("/runbooks/resume", {"id": str(doc["id"])})
    assert again.status_code == 409 and "only a failed or waiting runbook" in text(again)


def test_a_failed_step_is_shown_and_resume_continues_without_redoing(
        web: Console, services: Services, control: RunbookControl) -> None:
    control.failing_restarts = 1
    data = started(web, start(web, "tomcat", nodes=[NODE]))
    doc = data["runbook"]
    assert doc["state"] == "failed" and data["resumable"] is True
    assert data["error"]["message"] == "Cisco Tomcat did not start"
    failed = [s for s in doc["steps"] if s["state"] == "failed"]
    assert [s["action"] for s in failed] == ["restart"]
    page = web.get(f"/runbooks/view?id={doc['id']}")
    assert "Cisco Tomcat did not start" in text(page)
    assert re.search(r"<form[^>]*data-resume(?![^>]*hidden)", page.text)
    csrs = [e for e in audit(services) if e[2] == "csr generate"]
    resumed = web.post("/runbooks/resume", {"id": str(doc["id"])})
    assert resumed.status_code == 303
    assert resumed.headers["location"] == f"/runbooks/view?id={doc['id']}"
    data = follow(web, f"/runbooks/status.json?id={doc['id']}")
    assert data["runbook"]["state"] == "done" and data["error"] is None
    assert [e for e in audit(services) if e[2] == "csr generate"] == csrs  # not again


def test_a_manual_runbook_waits_then_resumes_from_the_answers_folder(
        web: Console, services: Services, settings: Settings, tmp_path: Path) -> None:
    # Folders the console may use: inside the home (a relative one is taken from there).
    out = settings.home / tmp_path.name / "csr-out"
    answers = settings.home / tmp_path.name / "answers"
    data = started(web, start(web, "tomcat", nodes=[NODE], ca="manual", folder=str(out)))
    doc = data["runbook"]
    assert doc["state"] == "waiting" and data["resumable"] is True
    assert doc["folder"] == str(out.resolve())
    csr = out / f"{NODE}-tomcat.csr"
    assert csr.exists()
    page = web.get(f"/runbooks/view?id={doc['id']}")
    assert "Folder with the CA's answers" in text(page)
    assert f'value="{out.resolve()}"' in page.text
    bundle = sign(csr.read_bytes())
    answers.mkdir()
    (answers / "certnew.pem").write_bytes(pem(bundle.leaf, bundle.intermediate, bundle.root))
    resumed = web.post("/runbooks/resume", {"id": str(doc["id"]), "folder": str(answers)})
    assert resumed.status_code == 303
    data = follow(web, f"/runbooks/status.json?id={doc['id']}")
    assert data["runbook"]["state"] == "done", data
    shown = services.certificates.show(NODE, "tomcat")
    assert shown.sha256 == sha256_of(bundle.leaf)


def test_the_manual_folder_is_confined_to_the_home(web: Console, services: Services,
                                                   settings: Settings, tmp_path: Path) -> None:
    home = settings.home.resolve()
    escapes = [str(tmp_path / "elsewhere"), "/etc/cron.d", "../outside", "a/../../outside",
               str(home / ".." / "outside")]
    (home / "escape-link").parent.mkdir(parents=True, exist_ok=True)
    (home / "escape-link").symlink_to(tmp_path, target_is_directory=True)
    escapes.append("escape-link/csr-out")
    for folder in escapes:
        refused = start(web, "tomcat", nodes=[NODE], ca="manual", folder=folder)
        assert refused.status_code == 400, (folder, refused.status_code)
        assert f"is outside {home}" in text(refused), folder
        assert "UCCERTS_EXPORT_DIR" in text(refused)
    assert not (tmp_path / "elsewhere").exists() and not (tmp_path / "csr-out").exists()
    assert not (home.parent / "outside").exists()
    assert [e for e in audit(services) if e[2] == "csr generate"] == []
    # Inside the home, relative or absolute, is accepted.
    data = started(web, start(web, "tomcat", nodes=[NODE], ca="manual",
                              folder=f"{tmp_path.name}/inner/../csr-out"))
    assert data["runbook"]["folder"] == str(home / tmp_path.name / "csr-out")
    # Resuming with an answers folder outside the home is refused as well.
    resumed = web.post("/runbooks/resume", {"id": str(data["runbook"]["id"]),
                                            "folder": str(tmp_path)})
    assert resumed.status_code == 400 and f"is outside {home}" in text(resumed)


def test_a_configured_export_folder_replaces_the_home(services: Services,
                                                      control: RunbookControl,
                                                      settings: Settings,
                                                      tmp_path: Path) -> None:
    export = tmp_path / "exports"
    with runbook_console(services, control, replace(settings, export_dir=export)) as web:
        assert web.login(WRITER, WRITER_PW).status_code == 303
        refused = start(web, "tomcat", nodes=[NODE], ca="manual",
                        folder=str(settings.home / "csr-out"))
        assert refused.status_code == 400 and f"is outside {export.resolve()}" in text(refused)
        data = started(web, start(web, "tomcat", nodes=[NODE], ca="manual",
                                  folder=str(export / "csr")))
        assert (export / "csr" / f"{NODE}-tomcat.csr").exists(), data


def test_unknown_runbooks_and_jobs_are_404(web: Console, services: Services,
                                           control: RunbookControl) -> None:
    assert web.get("/runbooks/view?id=999").status_code == 404
    assert web.get("/runbooks/view?id=abc").status_code == 404
    assert web.client.get("/runbooks/status.json?id=999").status_code == 404
    assert web.get("/runbooks/jobs/nope").status_code == 404
    assert web.post("/runbooks/resume", {"id": "999"}).status_code == 404


def test_a_job_belongs_to_its_user_and_readers_see_runbooks(
        web: Console, services: Services, control: RunbookControl, settings: Settings
        ) -> None:
    response = start(web, "tomcat", nodes=[NODE])
    doc = started(web, response)["runbook"]
    with runbook_console(services, control, settings) as reader:
        assert reader.login(READER, READER_PW).status_code == 303
        assert reader.get(response.headers["location"]).status_code == 404
        page = reader.get(f"/runbooks/view?id={doc['id']}")
        assert page.status_code == 200 and "data-resume" not in page.text
        planned = reader.get("/runbooks", params={"purpose": "tomcat"})
        start_button = re.search(r"<button[^>]*>Start</button>", planned.text)
        assert start_button and "disabled" in start_button.group(0)
        assert f"{READER} is read-only" in text(planned)


def test_without_the_running_cluster_nothing_starts(services: Services,
                                                    settings: Settings) -> None:
    with runbook_console(services, None, settings) as web:
        web.login(WRITER, WRITER_PW)
        page = plan_page(web, "tomcat")
        assert page.status_code == 200 and "The cluster is not running" in text(page)
        refused = start(web, "tomcat")
        assert refused.status_code == 503
        assert "The cluster is not running" in text(refused)


def test_an_acme_runbook_keeps_where_its_ca_is(web: Console, services: Services) -> None:
    directory = "https://127.0.0.1:9/directory"  # nothing listens: enrollment fails
    data = started(web, start(web, "tomcat", nodes=[NODE], ca="acme",
                              acme_directory=directory, acme_http_port="8080",
                              acme_root_url="https://127.0.0.1:9/root.pem"))
    doc = data["runbook"]
    assert doc["state"] == "failed" and data["resumable"] is True and data["error"]
    assert [s["action"] for s in doc["steps"] if s["state"] == "failed"] == ["enroll"]
    with services.ctx.read() as uow:
        stored = uow.runbooks.get(doc["id"])
    assert stored is not None
    assert stored.options.ca is CaKind.ACME
    assert stored.options.acme == AcmeSettings(directory, None, 8080,
                                               "https://127.0.0.1:9/root.pem")
