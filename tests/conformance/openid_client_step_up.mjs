// Step-up with openid-client (unmodified): a person signed in with her password alone adds an
// authenticator app; the relying party then asks for `acr_values=aal2` (authd asks for the
// code only, and the ID token says acr aal2, amr pwd+otp) and for `max_age=0` (authd asks for
// the password and the second factor again; openid-client checks auth_time). Run by
// tests/api/conformance.rs; exits non-zero on the first failure.
import { createHmac } from 'node:crypto';
import * as client from 'openid-client';
import { person } from './person.mjs';

const [issuer, clientId, clientSecret, redirectUri, username, password] = process.argv.slice(2);
const fail = (message) => {
  console.error(`FAIL: ${message}`);
  process.exit(1);
};
const check = (condition, message) => condition || fail(message);

// RFC 6238 as an authenticator app computes it.
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of text.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}
function totp(secret, at) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30000)));
  const mac = createHmac('sha1', base32(secret)).update(counter).digest();
  const offset = mac[19] & 15;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1e6).padStart(6, '0');
}

const config = await client.discovery(new URL(issuer), clientId, clientSecret, undefined, {
  execute: [client.allowInsecureRequests],
});
const metadata = config.serverMetadata();
check(metadata.acr_values_supported?.includes('aal2'), 'discovery offers aal2');

const { browse, post } = person(issuer);

async function newRequest(extra = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid email',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { url, checks: { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce } };
}
const back = (res) => {
  check(res.status === 303, `expected the way back, got ${res.status}`);
  return new URL(res.headers.get('location'));
};

// Signed in with the password alone: aal1.
const first = await newRequest();
let res = await browse(first.url);
let html = await res.text();
check(html.includes('name="password"'), 'the sign-in page');
const tokens = await client.authorizationCodeGrant(
  config,
  back(await post(html, [['username', username], ['password', password]])),
  first.checks,
);
check(tokens.claims().acr === 'aal1', `a password alone is aal1, not ${tokens.claims().acr}`);
check(JSON.stringify(tokens.claims().amr) === '["pwd"]', `amr ${JSON.stringify(tokens.claims().amr)}`);

// She adds an authenticator app through the account API.
const api = async (path, body, bearer) => {
  const r = await fetch(new URL(path, issuer), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: JSON.stringify(body),
  });
  const json = await r.json();
  check(r.ok, `${path} answered ${r.status}: ${JSON.stringify(json)}`);
  return json;
};
const login = await api('/api/auth/login', { email: username, password });
const enrolment = await api('/api/users/me/factors', { type: 'totp' }, login.access_token);
const confirmed = await api(
  `/api/users/me/factors/${enrolment.id}/verify`,
  { code: totp(enrolment.secret, Date.now()) },
  login.access_token,
);
check(confirmed.recovery_codes?.length === 10, 'ten recovery codes');

// acr_values=aal2: the code only (the sign-in's password still counts).
const stepUp = await newRequest({ acr_values: 'aal2' });
res = await browse(stepUp.url);
html = await res.text();
check(html.includes('name="code"') && !html.includes('name="password"'), 'asked for the code only');
// The next time step's code: the one that confirmed the app is taken.
const raised = await client.authorizationCodeGrant(
  config,
  back(await post(html, [['code', totp(enrolment.secret, Date.now() + 30000)]])),
  stepUp.checks,
);
const raisedClaims = raised.claims();
check(raisedClaims.acr === 'aal2', `stepped up to ${raisedClaims.acr}`);
check(JSON.stringify(raisedClaims.amr) === '["pwd","otp"]', `amr ${JSON.stringify(raisedClaims.amr)}`);
check(raisedClaims.sub === tokens.claims().sub, 'the same person');

// max_age=0: the password and the factor again (a recovery code this time).
const fresh = await newRequest({ max_age: '0' });
res = await browse(fresh.url);
html = await res.text();
check(html.includes('name="password"'), 'asked for the password again');
res = await post(html, [['username', username], ['password', password]]);
check(res.status === 200, `the second step answered ${res.status}`);
html = await res.text();
check(html.includes('name="code"'), 'then for the second factor');
const again = await client.authorizationCodeGrant(
  config,
  back(await post(html, [['code', confirmed.recovery_codes[0]]])),
  { ...fresh.checks, maxAge: 0 },
);
check(again.claims().acr === 'aal2', `max_age sign-in at ${again.claims().acr}`);
check(again.claims().auth_time >= raisedClaims.auth_time, 'a fresh auth_time');
console.log('openid-client step-up: all checks passed');
