"""The ACME CA (RFC 8555) through certbot's ``acme`` client library.

``AcmeEnroller.issue`` registers an account once (or finds the account of a known key),
orders the CSR's names, proves control of each with http-01 answered on the node's
addresses for the length of the order, finalizes with the CSR itself (the private key
never leaves uccerts) and downloads the chain. Registering agrees to the server's
terms of service: configuring a directory URL is taken as that agreement.

Network hygiene: TLS to the ACME server is checked against ``ca_bundle`` (or the
system's CAs), the environment's proxies and CA bundle are ignored, and every request
and the whole order are bounded by ``timeout_s``.

Failures leave as ``uccerts.errors`` (see ``acme_failures``): ``SystemFailure``
``acme-unreachable`` when the server does not answer, ``Refused`` ``acme-order-invalid``
with the server's problem detail when it refuses the names or validation fails.

Use as a context manager (or call ``close``) to release the HTTPS connections.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from acme import challenges, messages
from acme import errors as acme_errors
from acme.client import ClientNetwork, ClientV2
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from josepy.jwa import ES256, ES384, ES512, RS256, JWASignature
from josepy.jwk import JWK, JWKEC, JWKRSA
from requests.adapters import HTTPAdapter  # type: ignore[import-untyped, unused-ignore]
from requests.exceptions import (  # type: ignore[import-untyped, unused-ignore]
    RequestException,
)

from uccerts.domain import codec
from uccerts.domain.chain import is_self_signed, signed_by
from uccerts.domain.keys import PrivateKey, same_public_key
from uccerts.enroll.acme_failures import problem, protocol_failure, translated
from uccerts.enroll.acme_http01 import Http01Responder
from uccerts.enroll.issued import Issued
from uccerts.errors import InvalidInput, Refused, UsageError

MAX_REQUEST_TIMEOUT_S = 30.0
_EC_ALGS = {256: ES256, 384: ES384, 521: ES512}

@dataclass(frozen=True)
class AcmeSettings:
    """Where the ACME server is and how to reach it and be reached by it."""

    directory: str  # e.g. https://127.0.0.1:14000/dir
    ca_bundle: Path | None = None  # TLS trust for the ACME server (pebble's own CA)
    contact: str | None = None  # e-mail address for the account
    http01_port: int = 80  # where the validator connects for http-01
    timeout_s: float = 120.0  # the whole order; each request at most 30 s of it
    # Where the CA publishes its root, when its chain stops below it (pebble's
    # management endpoint, https://127.0.0.1:15000/roots/0).
    root_url: str | None = None

    def __post_init__(self) -> None:
        for what, url in (("directory", self.directory), ("root_url", self.root_url)):
            if url is not None and (urlsplit(url).scheme not in ("https", "http")
                                    or not urlsplit(url).hostname):
                raise UsageError(f"{what}: '{url}' is not an http(s) URL", code="invalid-url",
                                 fix="Give the ACME directory URL, e.g. "
                                     "https://acme.example/directory")
        if not 1 <= self.http01_port <= 65535:
            raise UsageError(f"http01_port: {self.http01_port} is not a port",
                             code="invalid-port", fix="Give a port from 1 to 65535 (80)")
        if not self.timeout_s > 0:
            raise UsageError(f"timeout_s: {self.timeout_s} must be positive",
                             code="invalid-timeout", fix="Give a number of seconds, e.g. 120")
        if self.contact is not None and "@" not in self.contact:
            raise UsageError(f"contact: '{self.contact}' is not an e-mail address",
                             code="invalid-contact", fix="Give an address such as "
                                                         "pki@uc.example")


class AcmeEnroller:
    """One ACME account (made on first use, reused after) issuing certificates.

    ``account_key`` defaults to a new EC P-256 key; keep it (sealed) and pass it again
    to reuse the same account from another process.
    """

    def __init__(self, settings: AcmeSettings, account_key: PrivateKey | None = None) -> None:
        self.settings = settings
        self.account_key: PrivateKey = account_key or ec.generate_private_key(ec.SECP256R1())
        self._client: ClientV2 | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"AcmeEnroller(directory={self.settings.directory!r})"

    def __enter__(self) -> AcmeEnroller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections; a later ``issue`` reconnects and finds the account."""
        with self._lock:
            if self._client is not None:
                self._client.net.session.close()
                self._client = None

    @property
    def account_uri(self) -> str | None:
        """The account's URL once registered (or found)."""
        account = self._client.net.account if self._client is not None else None
        return str(account.uri) if account is not None else None

    def issue(self, csr: x509.CertificateSigningRequest, answer_on: Sequence[str]) -> Issued:
        """Order, validate (http-01 on ``answer_on``), finalize and download."""
        # The acme library compares its deadlines with naive local datetime.now().
        deadline = datetime.now() + timedelta(seconds=self.settings.timeout_s)
        with self._lock, translated(self.settings.directory, self.settings.timeout_s):
            client = self._account()
            # Listen first: a port that cannot be bound must not leave an order behind.
            with Http01Responder(list(answer_on), self.settings.http01_port) as responder:
                order = client.new_order(codec.csr_pem(csr).encode("ascii"))
                for authz in order.authorizations:
                    if authz.body.status == messages.STATUS_VALID:
                        continue  # the server reused an earlier validation
                    challb, chall = _http01(authz)
                    response, validation = chall.response_and_validation(client.net.key)
                    responder.publish(str(chall.encode("token")), validation)
                    client.answer_challenge(challb, response)
                order = client.poll_and_finalize(order, deadline)
            return self._issued(csr, order.fullchain_pem or "")

    # --- the account ------------------------------------------------------------------

    def _account(self) -> ClientV2:
        if self._client is not None:
            return self._client
        jwk, alg = _jwk(self.account_key)
        timeout = max(1, int(min(self.settings.timeout_s, MAX_REQUEST_TIMEOUT_S)))
        net = ClientNetwork(jwk, alg=alg, user_agent="uccerts", timeout=timeout)
        try:
            client = self._register(net)
        except BaseException:
            net.session.close()
            raise
        self._client = client
        return client

    def _register(self, net: ClientNetwork) -> ClientV2:
        _configure_session(net.session, self.settings.ca_bundle)
        client = ClientV2(ClientV2.get_directory(self.settings.directory, net), net)
        registration = messages.NewRegistration.from_data(
            email=self.settings.contact, terms_of_service_agreed=True)
        try:
            client.new_account(registration)
        except acme_errors.ConflictError as known:
            # This key already has an account: use it (RFC 8555 §7.3.1).
            client.query_registration(messages.RegistrationResource(
                uri=known.location, body=messages.Registration()))
        except messages.Error as exc:
            raise Refused(f"The ACME server refused the account: {problem(exc)}",
                          code="acme-account-refused", detail=str(exc),
                          fix="Check the contact address and the server's account "
                              "policy (external account binding is not supported)") from exc
        return client

    # --- the result -------------------------------------------------------------------

    def _issued(self, csr: x509.CertificateSigningRequest, fullchain: str) -> Issued:
        try:
            certs = codec.load_certificates(fullchain.encode("utf-8"))
        except InvalidInput as exc:
            raise protocol_failure("the certificate download is not a PEM chain") from exc
        leaf, *above = certs
        if not same_public_key(leaf.public_key(), csr.public_key()):
            raise protocol_failure("the certificate returned is not for the CSR's key")
        root = above.pop() if above and is_self_signed(above[-1]) else None
        if root is None and self.settings.root_url is not None:
            root = self._fetch_root(self.settings.root_url, above[-1] if above else leaf)
        return Issued(leaf, tuple(above), root)

    def _fetch_root(self, url: str, top: x509.Certificate) -> x509.Certificate | None:
        """The published root, when it is self-signed and signed the chain's top."""
        assert self._client is not None
        try:
            response = self._client.net.session.get(
                url, timeout=min(self.settings.timeout_s, MAX_REQUEST_TIMEOUT_S))
            if response.status_code != 200:
                return None
            candidates = codec.load_certificates(response.content)
        except (RequestException, InvalidInput):
            return None  # "if available": the chain stands without it
        return next((c for c in candidates if is_self_signed(c) and signed_by(top, c)), None)


def _jwk(key: PrivateKey) -> tuple[JWK, JWASignature]:
    if isinstance(key, rsa.RSAPrivateKey):
        return JWKRSA(key=key), RS256
    return JWKEC(key=key), _EC_ALGS[key.curve.key_size]


class _TrustAdapter(HTTPAdapter):  # type: ignore[misc, unused-ignore]
    """Verifies the server against one CA bundle only: the documented way to give
    requests an ``ssl_context``."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)


def _configure_session(session: Any, ca_bundle: Path | None) -> None:
    # No proxies, netrc or REQUESTS_CA_BUNDLE from the environment: the settings say
    # where the server is and whom to trust.
    session.trust_env = False
    if ca_bundle is not None:
        try:
            context = ssl.create_default_context(cafile=str(ca_bundle))
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(f"ca_bundle: cannot read {ca_bundle}", code="invalid-ca-bundle",
                             detail=str(exc),
                             fix="Give a PEM file with the CA that signed the ACME "
                                 "server's TLS certificate") from exc
        session.mount("https://", _TrustAdapter(context))


def _http01(authz: messages.AuthorizationResource
            ) -> tuple[messages.ChallengeBody, challenges.HTTP01]:
    for challb in authz.body.challenges:
        if isinstance(challb.chall, challenges.HTTP01):
            return challb, challb.chall
    name = ("*." if authz.body.wildcard else "") + str(authz.body.identifier.value)
    raise Refused(f"The ACME server offers no http-01 challenge for {name}",
                  code="acme-order-invalid",
                  detail="offered: " + ", ".join(str(c.chall.typ)
                                                 for c in authz.body.challenges),
                  fix="Order names the node answers for over http-01 (wildcards need "
                      "dns-01, which uccerts does not answer)")
