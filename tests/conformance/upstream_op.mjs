// node-oidc-provider (unmodified) as the upstream provider authd signs people in with: its
// own login page (dev interactions: any name and password; the name is taken as the person's
// email, verified), consent granted for the client, email claims at userinfo only (the
// provider's default). Run by tests/api/upstream.rs: node upstream_op.mjs PORT CLIENT_ID
// CLIENT_SECRET REDIRECT_URI. Prints "listening" when ready.
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  cookies: { keys: ['an-upstream-for-tests-only-0123456789'] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: `op-${id}`, email: id, email_verified: true, name: `Person ${id}` }),
  }),
  // The person consents once for all: the test is about authd, not about consent screens.
  loadExistingGrant: async (ctx) => {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
  features: { devInteractions: { enabled: true } },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.listen(Number(port), '127.0.0.1', () => console.log('listening'));
