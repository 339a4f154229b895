"""schemathesis against /api/v1/openapi.json through the ASGI app: whatever the
generated request (paths, queries, JSON and multipart bodies), the answer is never a
5xx, and an error is always problem+json.

Bounded (a few examples per operation) so the whole run stays well under a minute; keys
come from a one-key-per-size source, as key generation is not what is tested here.
"""

from __future__ import annotations

import base64
import warnings
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api_client import API, PROBLEM, RO, RW, FakeControl, cluster_services
from uccerts.domain.keys import PrivateKey, generate_key
from uccerts.domain.purposes import KeyType

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import schemathesis
    from schemathesis import GenerationMode

AUTH = {"Authorization": "Basic " + base64.b64encode(f"{RW[0]}:{RW[1]}".encode()).decode()}
EXAMPLES = 25
REAL = {
    "node": ["cucm-pub", "cucm-sub1", "imp-pub", "CUCM-PUB.uc.example"],
    "purpose": ["tomcat", "CallManager", "tomcat-ECDSA", "tomcat-trust", "ITLRecovery",
                "cup-xmpp", "CAPF-trust"],
    "filename": ["tomcat.pem", "CallManager.pem"],
    "service": ["Cisco Tomcat", "tftp", "Cisco CallManager"],
    "action": ["restart", "stop", "start", "activate", "deactivate"],
    "user": [RO[0], "admin"],
}
_KEYS: dict[tuple[KeyType, int], PrivateKey] = {}


def one_key_per_size(key_type: KeyType, length: int) -> PrivateKey:
    if (key_type, length) not in _KEYS:
        _KEYS[key_type, length] = generate_key(key_type, length)
    return _KEYS[key_type, length]


@pytest.fixture
def api_schema(sql_store: Any) -> Any:
    from dataclasses import replace

    from uccerts.app import create_app

    services = cluster_services(sql_store)
    services = replace(services, ctx=replace(services.ctx, keygen=one_key_per_size))
    services = services.acting_as("tester", "test")  # rewired with the fast keys
    app = create_app(services, "cucm-pub", FakeControl())
    return schemathesis.openapi.from_asgi(f"{API}/openapi.json", app, headers=AUTH)


def check(case: Any) -> None:
    response = case.call(headers=AUTH)
    assert response.status_code < 500, (case.method, case.formatted_path, response.text)
    # 413 comes from the body limit in front of the whole app; a path whose decoded form
    # holds a line break matches no mount (Starlette's patterns stop there), so the
    # console, not the API, answers it.
    if response.status_code >= 400 and response.status_code != 413 and not _line_break(case):
        assert response.headers["content-type"][0] == PROBLEM, response.headers


def _line_break(case: Any) -> bool:
    from urllib.parse import unquote

    return any(c in unquote(case.formatted_path) for c in "\r\n")


def with_real_names(strategy: Any) -> Any:
    """Half the time, path parameters that name real things (a node, a purpose...): a
    random node name only ever reaches the 404."""

    def pick(case: Any, data: st.DataObject) -> Any:
        for name, choices in REAL.items():
            if case.path_parameters and name in case.path_parameters and data.draw(
                    st.booleans()):
                case.path_parameters[name] = data.draw(st.sampled_from(choices))
        return case

    return st.builds(pick, strategy, st.data())


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_request_gets_a_server_error(api_schema: Any, mode: Any) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 30
    for operation in operations:
        run = given(case=with_real_names(operation.as_strategy(generation_mode=mode)))(check)
        settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                 suppress_health_check=list(HealthCheck))(run)()
