// Audience-restricted tokens (RFC 8707) with openid-client (unmodified) and jose as the
// resource servers would verify them: a client_credentials token asked for `resource=REPORTS`
// verifies at the reports service (`aud` = its identifier, its scopes only) and not at the
// billing service; one asked for an unregistered resource is refused with invalid_target. Run
// by tests/api/conformance.rs; exits non-zero on the first failure.
import * as client from 'openid-client';
import * as jose from 'jose';

const [issuer, clientId, clientSecret, reports, billing] = process.argv.slice(2);
const fail = (message) => {
  console.error(`FAIL: ${message}`);
  process.exit(1);
};
const check = (condition, message) => condition || fail(message);

const config = await client.discovery(new URL(issuer), clientId, clientSecret, undefined, {
  execute: [client.allowInsecureRequests],
});
const jwks = jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri));
const verifyAt = (token, audience) =>
  jose.jwtVerify(token, jwks, { issuer, audience, typ: 'at+jwt' });

const tokens = await client.clientCredentialsGrant(config, { resource: reports });
const { payload } = await verifyAt(tokens.access_token, reports);
check(payload.aud === reports, `aud ${payload.aud}`);
check(payload.scope === 'reports:read', `scope ${payload.scope}`);
try {
  await verifyAt(tokens.access_token, billing);
  fail('the reports token verified at the billing service');
} catch (e) {
  check(e.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED', `billing refused it: ${e.code}`);
}
try {
  await client.clientCredentialsGrant(config, { resource: 'https://unknown.example.com' });
  fail('an unregistered resource was accepted');
} catch (e) {
  check(e.error === 'invalid_target', `unregistered resource: ${e.error || e.message}`);
}
console.log('openid-client resource indicators: all checks passed');
