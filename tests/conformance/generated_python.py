"""authd's account API and token endpoint driven through a client that openapi-python-client
generates, unmodified, from the live /openapi.json (run by tests/api/conformance.rs).

    python3 generated_python.py ISSUER EMAIL PASSWORD CLIENT_ID CLIENT_SECRET
"""

import importlib
import os
import subprocess
import sys
import tempfile
import urllib.request

base, email, password, client_id, client_secret = sys.argv[1:6]
out = tempfile.mkdtemp()
doc = os.path.join(out, "openapi.json")
urllib.request.urlretrieve(base + "/openapi.json", doc)
generator = os.path.join(os.path.dirname(sys.executable), "openapi-python-client")
generated = subprocess.run(
    [generator, "generate", "--path", doc, "--output-path", os.path.join(out, "authd_client"), "--meta", "none"],
    capture_output=True,
    text=True,
)
assert generated.returncode == 0, generated.stdout + generated.stderr
assert "WARNING" not in generated.stdout, "every endpoint generated:\n" + generated.stdout

sys.path.insert(0, out)
client_pkg = importlib.import_module("authd_client")
# Every generated module imports.
import pkgutil

for module in pkgutil.walk_packages(client_pkg.__path__, "authd_client."):
    importlib.import_module(module.name)

from authd_client import AuthenticatedClient, Client
from authd_client.api.account import (
    post_api_auth_login,
    post_api_auth_refresh,
    post_api_auth_register,
)
from authd_client.api.oauth import post_oauth_token
from authd_client.api.users import get_api_users_me
from authd_client.models import (
    LoginRequest,
    OAuthTokenResponse,
    PostOauthTokenBody,
    RefreshRequest,
    RegisteredBody,
    RegisterRequest,
    TokenResponse,
    UserView,
)

anyone = Client(base_url=base, raise_on_unexpected_status=True)

# Sign-up: 201 with the pending registration (verification is on).
r = post_api_auth_register.sync_detailed(
    client=anyone, body=RegisterRequest(email="generated." + email, password=password)
)
assert r.status_code == 201, r
assert isinstance(r.parsed, RegisteredBody), r.parsed
assert r.parsed.user_id == r.parsed.userId

# Login, me, refresh: typed answers.
r = post_api_auth_login.sync_detailed(client=anyone, body=LoginRequest(email=email, password=password))
assert r.status_code == 200, r
tokens = r.parsed
assert isinstance(tokens, TokenResponse), tokens
assert tokens.user.email == email and tokens.user.role == "CUSTOMER", tokens.user

me = get_api_users_me.sync(client=AuthenticatedClient(base_url=base, token=tokens.access_token))
assert isinstance(me, UserView) and me.email == email, me

r = post_api_auth_refresh.sync_detailed(client=anyone, body=RefreshRequest(refresh_token=tokens.refresh_token))
assert r.status_code == 200 and isinstance(r.parsed, TokenResponse), r
assert r.parsed.refresh_token != tokens.refresh_token

# A wrong password: the error body, typed.
r = post_api_auth_login.sync_detailed(client=Client(base_url=base), body=LoginRequest(email=email, password="wrong-" + password))
assert r.status_code == 401 and r.parsed.message, r

# The token endpoint, as a form.
r = post_oauth_token.sync_detailed(
    client=anyone,
    body=PostOauthTokenBody(grant_type="client_credentials", client_id=client_id, client_secret=client_secret),
)
assert r.status_code == 200 and isinstance(r.parsed, OAuthTokenResponse), r
assert r.parsed.token_type == "Bearer" and r.parsed.access_token

print("all checks passed")
