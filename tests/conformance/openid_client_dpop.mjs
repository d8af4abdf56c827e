// DPoP (RFC 9449) with openid-client's own support (unmodified), as a public client: the code
// exchanged with a proof binds the access token (cnf.jkt, token_type DPoP) and the refresh
// token to the key; userinfo and the account API take the token only with a fresh proof by
// that key; a refresh needs a proof by the same key. Run by tests/api/conformance.rs; exits
// non-zero on the first failure.
import * as client from 'openid-client';
import * as jose from 'jose';
import { person } from './person.mjs';

const [issuer, clientId, redirectUri, username, password] = process.argv.slice(2);
const fail = (message) => {
  console.error(`FAIL: ${message}`);
  process.exit(1);
};
const check = (condition, message) => condition || fail(message);
const refused = async (promise, why) => {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  return fail(`${why}: it was accepted`);
};

const config = await client.discovery(new URL(issuer), clientId, undefined, client.None(), {
  execute: [client.allowInsecureRequests],
});
check(
  config.serverMetadata().dpop_signing_alg_values_supported?.includes('ES256'),
  'discovery lists the DPoP algorithms',
);
const keyPair = await client.randomDPoPKeyPair('ES256');
const DPoP = client.getDPoPHandle(config, keyPair);
const jkt = await jose.calculateJwkThumbprint(await jose.exportJWK(keyPair.publicKey));

// Signed in by the person; the code exchanged with a proof.
const { browse, post } = person(issuer);
const verifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const url = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri,
  scope: 'openid email offline_access',
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: 'S256',
  state,
});
let res = await browse(url);
check(res.status === 200, `the sign-in page answered ${res.status}`);
res = await post(await res.text(), [['username', username], ['password', password]]);
if (res.status === 200) res = await post(await res.text(), [['decision', 'approve']]);
check(res.status === 303, `signing in answered ${res.status}`);
const tokens = await client.authorizationCodeGrant(
  config,
  new URL(res.headers.get('location')),
  { pkceCodeVerifier: verifier, expectedState: state },
  undefined,
  { DPoP },
);
check(tokens.token_type === 'dpop', `token_type ${tokens.token_type}`);
check(jose.decodeJwt(tokens.access_token).cnf?.jkt === jkt, 'the access token is bound to the key');
check(tokens.refresh_token, 'a refresh token (offline_access)');
const sub = tokens.claims().sub;

// The bound token works with a proof, and not without one.
const info = await client.fetchUserInfo(config, tokens.access_token, sub, { DPoP });
check(info.email === username, `userinfo with a proof: ${JSON.stringify(info)}`);
const me = await client.fetchProtectedResource(
  config,
  tokens.access_token,
  new URL('/api/users/me', issuer),
  'GET',
  undefined,
  undefined,
  { DPoP },
);
check(me.status === 200, `the account API with a proof answered ${me.status}`);
const asBearer = await fetch(new URL('/oauth/userinfo', issuer), {
  headers: { authorization: `Bearer ${tokens.access_token}` },
});
check(asBearer.status === 401, `the bound token as Bearer answered ${asBearer.status}`);
const otherKey = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
await refused(
  client.fetchUserInfo(config, tokens.access_token, sub, { DPoP: otherKey }),
  'userinfo with a proof by another key',
);

// The refresh token is the key's too (a public client's: RFC 9449 section 5).
const stolen = await refused(
  client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP: otherKey }),
  'a refresh with another key',
);
check(stolen.error === 'invalid_dpop_proof', `another key: ${stolen.error || stolen.message}`);
await refused(client.refreshTokenGrant(config, tokens.refresh_token), 'a refresh without a proof');
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP });
check(refreshed.token_type === 'dpop', 'the refreshed token is bound too');
check(jose.decodeJwt(refreshed.access_token).cnf?.jkt === jkt, 'to the same key');
console.log('openid-client DPoP: all checks passed');
