import Provider from 'oidc-provider';
const [port, redirect] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [{ client_id: 'keyward', client_secret: 'keyward-test-secret', redirect_uris: [redirect],
              grant_types: ['authorization_code'], response_types: ['code'] }],
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'groups'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], groups: ['groups'] },
  conformIdTokenClaims: false,
  ttl: { AuthorizationCode: 5 },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    return { accountId: id, async claims() {
      return { sub: id, email: id, email_verified: true, groups: id.startsWith('admin') ? ['keyward-admins'] : ['staff'] };
    } };
  },
});
provider.listen(Number(port), '127.0.0.1', () => console.log(`ready ${issuer}`));
