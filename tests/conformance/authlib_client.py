"""Drives authd with Authlib (unmodified), as a Python relying party would: discovery, the
authorization code flow with PKCE, state and nonce, the ID token verified against the JWKS,
userinfo, refresh, and introspection. ID_TOKEN_ALG and ACCESS_TOKEN_ALG (default RS256) say
how the tokens must be signed. Run by tests/api/conformance.rs; exits non-zero on the first
failure."""

import base64
import html
import json
import os
import re
import sys
from urllib.parse import urljoin

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.common.security import generate_token

issuer, client_id, client_secret, redirect_uri, username, password = sys.argv[1:7]  # then the logout address, unused here


def check(condition, message):
    if not condition:
        print(f"FAIL: {message}", file=sys.stderr)
        sys.exit(1)


meta = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
check(meta["issuer"] == issuer, "discovery names the issuer")
session = OAuth2Session(
    client_id,
    client_secret,
    scope="openid email profile offline_access",
    redirect_uri=redirect_uri,
    code_challenge_method="S256",
    token_endpoint_auth_method="client_secret_basic",
)
verifier = generate_token(64)
nonce = generate_token(20)
url, state = session.create_authorization_url(
    meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
)

# The person at the browser: authd's sign-in form.
browser = requests.Session()
page = browser.get(url, allow_redirects=False, timeout=10)
check(page.status_code == 200, f"the sign-in page answered {page.status_code}")
fields = [
    (html.unescape(n), html.unescape(v))
    for n, v in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page.text)
]
fields += [("username", username), ("password", password)]
back = browser.post(urljoin(issuer, "/oauth/authorize"), data=fields, allow_redirects=False, timeout=10)
check(back.status_code == 303, f"signing in answered {back.status_code}")
callback = back.headers["location"]

token = session.fetch_token(
    meta["token_endpoint"], authorization_response=callback, code_verifier=verifier, state=state
)
check(token.get("token_type") == "Bearer", "a Bearer token")

jwks = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
claims = jwt.decode(
    token["id_token"],
    jwks,
    claims_options={
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": client_id},
        "nonce": {"essential": True, "value": nonce},
    },
)
claims.validate()
check(claims["sub"], "the ID token names its subject")
for kind, want in [("id_token", "ID_TOKEN_ALG"), ("access_token", "ACCESS_TOKEN_ALG")]:
    head = token[kind].split(".")[0]
    alg = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["alg"]
    check(alg == os.environ.get(want, "RS256"), f"{kind} signed with {alg}")

info = session.get(meta["userinfo_endpoint"], timeout=10).json()
check(info.get("email") == username and info.get("sub") == claims["sub"], f"userinfo: {info}")

refreshed = session.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
check(refreshed["refresh_token"] != token["refresh_token"], "refresh rotates")

intro = requests.post(
    meta["introspection_endpoint"],
    data={"token": refreshed["access_token"]},
    auth=(client_id, client_secret),
    timeout=10,
).json()
check(intro.get("active") is True and intro.get("client_id") == client_id, f"introspection: {intro}")
print("authlib: all checks passed")
