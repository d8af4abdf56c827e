// Drives authd with openid-client (unmodified), as a relying party would: discovery, the
// authorization code flow with PKCE, nonce, state and max_age (ID token checked through the
// JWKS, RFC 9207 iss checked), userinfo, refresh, prompt=none with and without a sign-in,
// response_mode=form_post, a native app's loopback port, RP-initiated logout, and back-channel
// logout tokens verified with jose. With ID_TOKEN_ALG set, the client is registered for it
// (`id_token_signed_response_alg`, which openid-client then requires) and ACCESS_TOKEN_ALG is
// what the access tokens must carry. Run by tests/api/conformance.rs; exits non-zero on the
// first failure.
import { createServer } from 'node:http';
import * as client from 'openid-client';
import * as jose from 'jose';
import { hidden, person, unescape } from './person.mjs';

const [issuer, clientId, clientSecret, redirectUri, username, password, postLogout, backchannelPort] =
  process.argv.slice(2);
const fail = (message) => {
  console.error(`FAIL: ${message}`);
  process.exit(1);
};
const check = (condition, message) => condition || fail(message);

const idTokenAlg = process.env.ID_TOKEN_ALG || 'RS256';
const accessTokenAlg = process.env.ACCESS_TOKEN_ALG || 'RS256';
const metadata = process.env.ID_TOKEN_ALG
  ? { client_secret: clientSecret, id_token_signed_response_alg: idTokenAlg }
  : clientSecret;
const config = await client.discovery(new URL(issuer), clientId, metadata, undefined, {
  execute: [client.allowInsecureRequests],
});

// The person at the browser: a cookie jar, and authd's sign-in form.
const { browse } = person(issuer);

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
const signedWith = (token) => jose.decodeProtectedHeader(token).alg;
check(signedWith(tokens.id_token) === idTokenAlg, `ID token signed with ${signedWith(tokens.id_token)}`);
check(
  signedWith(tokens.access_token) === accessTokenAlg,
  `access token signed with ${signedWith(tokens.access_token)}`,
);
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

// A native app on a loopback port of its own (RFC 8252 section 7.3): registered without
// that port, the redirect still matches.
const loopback = redirectUri.replace(/:\d+\//, ':53127/');
const native = await newRequest({ prompt: 'none', redirect_uri: loopback });
res = await browse(native.url);
check(res.status === 303, `loopback answered ${res.status}`);
const nativeBack = new URL(res.headers.get('location'));
check(nativeBack.href.startsWith(loopback), `back at ${nativeBack.href}`);
const viaLoopback = await client.authorizationCodeGrant(config, nativeBack, native.checks);
check(viaLoopback.claims().sub === claims.sub, 'loopback: the same user');

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

// The relying party's backend listens for back-channel logout tokens (OIDC Back-Channel
// Logout 1.0) and verifies each with jose against authd's JWKS, as a Node backend would.
const jwks = jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri));
const logoutTokens = [];
const backchannel = createServer(async (req, res2) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  try {
    const token = new URLSearchParams(body).get('logout_token');
    const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
      issuer: config.serverMetadata().issuer,
      audience: clientId,
      typ: 'logout+jwt',
      algorithms: [idTokenAlg], // the client's ID token algorithm (Back-Channel Logout 2.4)
    });
    check(protectedHeader.typ === 'logout+jwt', 'typ logout+jwt');
    check(payload.events && payload.events['http://schemas.openid.net/event/backchannel-logout'], 'the logout event');
    check(payload.nonce === undefined, 'no nonce in a logout token');
    logoutTokens.push(payload);
    res2.writeHead(200).end();
  } catch (e) {
    console.error(`a logout token did not verify: ${e.message}`);
    res2.writeHead(400).end();
  }
});
await new Promise((ok) => backchannel.listen(Number(backchannelPort), '127.0.0.1', ok));

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
// The logout ended the sessions of that sign-in; the backend heard of the first one's.
for (let i = 0; i < 100 && !logoutTokens.some((t) => t.sid === claims.sid); i++) {
  await new Promise((ok) => setTimeout(ok, 100));
}
check(logoutTokens.some((t) => t.sid === claims.sid && t.sub === claims.sub), 'a back-channel logout token for the ended session');
backchannel.close();
console.log('openid-client: all checks passed');
