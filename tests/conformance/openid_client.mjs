// Drives authd with openid-client (unmodified), as a relying party would: discovery, the
// authorization code flow with PKCE, nonce, state and max_age (ID token checked through the
// JWKS, RFC 9207 iss checked), userinfo, refresh, prompt=none with and without a sign-in,
// response_mode=form_post, and RP-initiated logout. Run by tests/api/conformance.rs; exits
// non-zero on the first failure.
import * as client from 'openid-client';

const [issuer, clientId, clientSecret, redirectUri, username, password, postLogout] =
  process.argv.slice(2);
const fail = (message) => {
  console.error(`FAIL: ${message}`);
  process.exit(1);
};
const check = (condition, message) => condition || fail(message);

const config = await client.discovery(new URL(issuer), clientId, clientSecret, undefined, {
  execute: [client.allowInsecureRequests],
});

// The person at the browser: a cookie jar, and authd's sign-in form.
const jar = new Map();
async function browse(url, init = {}) {
  const headers = new Headers(init.headers || {});
  if (jar.size) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
  const res = await fetch(url, { ...init, headers, redirect: 'manual' });
  for (const cookie of res.headers.getSetCookie()) {
    const [pair] = cookie.split(';');
    const at = pair.indexOf('=');
    jar.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return res;
}
const unescape = (s) =>
  s.replace(/&quot;/g, '"').replace(/&#x27;|&#39;/g, "'").replace(/&#x2f;/g, '/')
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
const hidden = (html) =>
  [...html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)].map((m) => [
    unescape(m[1]),
    unescape(m[2]),
  ]);

async function signIn(authUrl) {
  let res = await browse(authUrl);
  check(res.status === 200, `the sign-in page answered ${res.status}`);
  const form = new URLSearchParams([
    ...hidden(await res.text()),
    ['username', username],
    ['password', password],
  ]);
  res = await browse(new URL('/oauth/authorize', issuer), {
    method: 'POST',
    body: form,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  check(res.status === 303, `signing in answered ${res.status}`);
  return new URL(res.headers.get('location'));
}

async function newRequest(extra = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid email profile offline_access',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { url, checks: { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce } };
}

// Code flow with max_age.
const first = await newRequest({ max_age: '300' });
const callback = await signIn(first.url);
const tokens = await client.authorizationCodeGrant(config, callback, { ...first.checks, maxAge: 300 });
const claims = tokens.claims();
check(claims && claims.sub, 'the ID token names its subject');
check(typeof claims.auth_time === 'number', 'the ID token carries auth_time');
const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
check(info.email === username, `userinfo says ${info.email}`);
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
check(refreshed.access_token && refreshed.refresh_token !== tokens.refresh_token, 'refresh rotates');

// prompt=none with the sign-in: a code at once.
const silent = await newRequest({ prompt: 'none' });
let res = await browse(silent.url);
check(res.status === 303, `prompt=none answered ${res.status}`);
const again = await client.authorizationCodeGrant(config, new URL(res.headers.get('location')), silent.checks);
check(again.claims().sub === claims.sub, 'the same user, silently');

// response_mode=form_post: a page whose form the browser posts to the redirect URI; the
// relying party reads the response from the POST body, as openid-client does with a Request.
const posted = await newRequest({ prompt: 'none', response_mode: 'form_post' });
res = await browse(posted.url);
check(res.status === 200, `form_post answered ${res.status}`);
const page = await res.text();
const action = unescape(page.match(/<form method="post" action="([^"]*)"/)[1]);
check(action === redirectUri, `the form posts to ${action}`);
check(!page.includes('code=') && !res.headers.get('location'), 'nothing in any URL');
const callbackPost = new Request(action, {
  method: 'POST',
  body: new URLSearchParams(hidden(page)),
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
});
const viaPost = await client.authorizationCodeGrant(config, callbackPost, posted.checks);
check(viaPost.claims().sub === claims.sub, 'form_post: the same user');

// RP-initiated logout, then prompt=none has no sign-in: login_required.
const end = client.buildEndSessionUrl(config, {
  id_token_hint: tokens.id_token,
  post_logout_redirect_uri: postLogout,
  state: 'so-long',
});
res = await browse(end);
check(res.status === 303, `logout answered ${res.status}`);
const after = new URL(res.headers.get('location'));
check(after.href.startsWith(postLogout) && after.searchParams.get('state') === 'so-long', 'back at the RP');
const none = await newRequest({ prompt: 'none' });
res = await browse(none.url);
try {
  await client.authorizationCodeGrant(config, new URL(res.headers.get('location')), none.checks);
  fail('prompt=none after logout should fail');
} catch (e) {
  check(e.error === 'login_required', `prompt=none after logout: ${e.error || e.message}`);
}
console.log('openid-client: all checks passed');
