"""An identity provider for the inbox page's sign-in test, over real HTTP: discovery, the
authorization endpoint (it signs the one person in without asking, or refuses when told to), the
token endpoint (which checks the PKCE verifier against the challenge, as a real provider does) and
the key set. Keys are made here; nothing leaves the machine."""

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

KID = "e2e-key-1"


@dataclass
class Provider:
    url: str = ""
    client_id: str = ""
    subject: str = ""
    refuse: bool = False  # answer the authorization request with error=access_denied
    private: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    tokens_issued: int = 0
    token_errors: list[str] = field(default_factory=list)

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/jwks"

    def id_token(self) -> str:
        now = int(time.time())
        claims = {
            "iss": self.url,
            "aud": self.client_id,
            "sub": self.subject,
            "iat": now,
            "exp": now + 300,
        }
        return jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": KID})

    def jwks(self) -> dict[str, Any]:
        public: dict[str, Any] = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {"keys": [public | {"kid": KID, "use": "sig", "alg": "RS256"}]}

    def exchange(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The token endpoint: a code is good once, for its client, redirect URI and verifier."""
        grant = self.codes.pop(form.get("code", ""), None)
        if form.get("grant_type") != "authorization_code" or grant is None:
            return self._refused("invalid_grant", "unknown or used code")
        if form.get("client_id") != grant["client_id"]:
            return self._refused("invalid_client", "not the client the code was given to")
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return self._refused("invalid_grant", "redirect_uri differs from the request's")
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if challenge != grant["code_challenge"]:
            return self._refused("invalid_grant", "the PKCE verifier does not match")
        self.tokens_issued += 1
        return 200, {
            "id_token": self.id_token(),
            "access_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",
            "expires_in": 300,
        }

    def _refused(self, error: str, description: str) -> tuple[int, dict[str, Any]]:
        self.token_errors.append(description)
        return 400, {"error": error, "error_description": description}


@contextmanager
def serving(client_id: str, subject: str) -> Iterator[Provider]:
    provider = Provider(client_id=client_id, subject=subject)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                self._json(
                    200,
                    {
                        "issuer": provider.url,
                        "authorization_endpoint": f"{provider.url}/authorize",
                        "token_endpoint": f"{provider.url}/token",
                        "jwks_uri": provider.jwks_url,
                        "response_types_supported": ["code"],
                        "code_challenge_methods_supported": ["S256"],
                    },
                )
            elif url.path == "/jwks":
                self._json(200, provider.jwks())
            elif url.path == "/authorize":
                self._authorize(query)
            else:
                self._json(404, {"error": "not_found"})

        def _authorize(self, query: dict[str, str]) -> None:
            redirect = query.get("redirect_uri", "")
            if (
                query.get("client_id") != provider.client_id
                or query.get("response_type") != "code"
                or query.get("code_challenge_method") != "S256"
                or not query.get("code_challenge")
                or not redirect
            ):
                self._json(400, {"error": "invalid_request"})
                return
            if provider.refuse:
                answer = {"error": "access_denied", "error_description": "the person said no"}
            else:
                code = secrets.token_urlsafe(16)
                provider.codes[code] = {
                    "client_id": query["client_id"],
                    "redirect_uri": redirect,
                    "code_challenge": query["code_challenge"],
                }
                answer = {"code": code}
            answer["state"] = query.get("state", "")
            self.send_response(302)
            self.send_header("Location", f"{redirect}?{urlencode(answer)}")
            self.end_headers()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if urlsplit(self.path).path != "/token":
                self._json(404, {"error": "not_found"})
                return
            self._json(*provider.exchange(form))

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            # The page on the router's origin reads the token endpoint's answer (CORS).
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    provider.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
