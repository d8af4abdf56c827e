// A single-page app signing people in with authd: the authorization code flow with PKCE as
// a public client, through oauth4webapi (vendored in vendor/, no CDN). Its tokens are
// DPoP-bound (RFC 9449) to a key the page cannot export, kept in IndexedDB: a copied access or
// refresh token is useless without it. It asks for consent, shows the ID token's claims and
// userinfo, refreshes, and signs out (revoking the refresh token, then RP-initiated logout).
// Served as static files; see README.md beside it.
import * as oauth from './vendor/oauth4webapi.js';

const out = (id, text) => {
  document.getElementById(id).textContent = text;
};
const show = (id, visible) => {
  document.getElementById(id).hidden = !visible;
};
const status = (text) => out('status', text);

// Where authd is and who this app is there: config.json beside this file.
const config = await (await fetch('./config.json')).json();
const issuer = new URL(config.issuer);
const client = { client_id: config.client_id };
const clientAuth = oauth.None();
// This page is its own redirect URI (registered with --redirect-uri), and where a sign-out
// comes back to (--post-logout-redirect-uri).
const redirectUri = `${location.origin}${location.pathname}`;
// authd on plain http is for a machine's loopback only; oauth4webapi wants it said.
const options = issuer.protocol === 'http:' ? { [oauth.allowInsecureRequests]: true } : {};

const as = await oauth
  .discoveryRequest(issuer, options)
  .then((response) => oauth.processDiscoveryResponse(issuer, response));

// The DPoP key: made once, non-extractable, kept in IndexedDB (a CryptoKey survives there
// across the redirect to authd and back; its private half never leaves the browser's crypto).
function keyStore(operation) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('authd-example', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('keys');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const request = operation(open.result.transaction('keys', 'readwrite').objectStore('keys'));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    };
  });
}
async function dpopKey() {
  let keyPair = await keyStore((store) => store.get('dpop'));
  if (!keyPair) {
    keyPair = await oauth.generateKeyPair('ES256');
    await keyStore((store) => store.put(keyPair, 'dpop'));
  }
  return keyPair;
}
const DPoP = oauth.DPoP(client, await dpopKey());
const withDPoP = { ...options, DPoP };
// An authd that requires DPoP nonces (AUTHD_DPOP_REQUIRE_NONCE) first answers use_dpop_nonce;
// the DPoP handle keeps the nonce it sent, so once more is enough.
async function once(attempt) {
  try {
    return await attempt();
  } catch (e) {
    if (oauth.isDPoPNonceError(e)) return attempt();
    throw e;
  }
}

// Tokens live in this tab's session storage: gone when the tab closes, never in a cookie.
const saved = () => JSON.parse(sessionStorage.getItem('tokens') || 'null');
const save = (tokens) => sessionStorage.setItem('tokens', JSON.stringify(tokens));

async function signIn() {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  sessionStorage.setItem('pending', JSON.stringify({ verifier, state, nonce }));
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: client.client_id,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: 'openid email profile offline_access',
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  location.assign(url);
}

// Back from authd with ?code=...&state=...&iss=...: the code for tokens.
async function finishSignIn(current) {
  const pending = JSON.parse(sessionStorage.getItem('pending') || 'null');
  sessionStorage.removeItem('pending');
  history.replaceState(null, '', redirectUri);
  if (!pending) throw new Error('no sign-in was started in this tab');
  const params = oauth.validateAuthResponse(as, client, current, pending.state);
  const result = await once(async () => {
    const response = await oauth.authorizationCodeGrantRequest(
      as, client, clientAuth, params, redirectUri, pending.verifier, withDPoP,
    );
    return oauth.processAuthorizationCodeResponse(as, client, response, {
      expectedNonce: pending.nonce,
      requireIdToken: true,
    });
  });
  const claims = oauth.getValidatedIdTokenClaims(result);
  save({
    access_token: result.access_token,
    refresh_token: result.refresh_token,
    id_token: result.id_token,
    token_type: result.token_type,
    sub: claims.sub,
    claims,
  });
}

async function userinfo() {
  const tokens = saved();
  return once(async () => {
    const response = await oauth.userInfoRequest(as, client, tokens.access_token, withDPoP);
    return oauth.processUserInfoResponse(as, client, tokens.sub, response);
  });
}

async function refresh() {
  const tokens = saved();
  const result = await once(async () => {
    const response = await oauth.refreshTokenGrantRequest(
      as, client, clientAuth, tokens.refresh_token, withDPoP,
    );
    return oauth.processRefreshTokenResponse(as, client, response);
  });
  save({
    ...tokens,
    access_token: result.access_token,
    refresh_token: result.refresh_token ?? tokens.refresh_token,
    id_token: result.id_token ?? tokens.id_token,
  });
  out('refreshed', `Refreshed at ${new Date().toLocaleTimeString()}.`);
  await render();
}

async function signOut() {
  const tokens = saved();
  sessionStorage.removeItem('tokens');
  // The refresh token first (its session ends, and the access tokens with it), then authd's
  // own sign-in in this browser, coming back here.
  if (tokens?.refresh_token) {
    const response = await oauth.revocationRequest(
      as, client, clientAuth, tokens.refresh_token, options,
    );
    await oauth.processRevocationResponse(response);
  }
  // A new key for the next sign-in.
  await keyStore((store) => store.delete('dpop'));
  const url = new URL(as.end_session_endpoint);
  url.search = new URLSearchParams({
    client_id: client.client_id,
    post_logout_redirect_uri: redirectUri,
    ...(tokens?.id_token ? { id_token_hint: tokens.id_token } : {}),
    state: 'signed-out',
  });
  location.assign(url);
}

async function render() {
  const tokens = saved();
  show('signed-in', Boolean(tokens));
  show('signed-out', !tokens);
  if (!tokens) return;
  out('who', tokens.claims.email || tokens.sub);
  out('claims', JSON.stringify(tokens.claims, null, 2));
  out('userinfo', JSON.stringify(await userinfo(), null, 2));
}

const guard = (action) => async () => {
  try {
    await action();
  } catch (e) {
    status(`Something went wrong: ${e.error_description || e.error || e.message}`);
  }
};
document.getElementById('sign-in').addEventListener('click', guard(signIn));
document.getElementById('refresh').addEventListener('click', guard(refresh));
document.getElementById('sign-out').addEventListener('click', guard(signOut));

await guard(async () => {
  const current = new URL(location.href);
  if (current.searchParams.has('code') || current.searchParams.has('error')) {
    await finishSignIn(current);
  } else if (current.searchParams.get('state') === 'signed-out') {
    history.replaceState(null, '', redirectUri);
    status('You are signed out.');
  }
  await render();
})();
document.body.dataset.ready = 'true';
