#!/usr/bin/env node
// A real OpenID Connect provider for tests: node-oidc-provider with its development sign-in pages.
//
//   node tests/oidc/provider.mjs <port> <client_id> <client_secret> <redirect_uri>
//
// Issuer http://127.0.0.1:<port>. Any login name is accepted at the sign-in page; the account's
// claims are sub = <login>, email = <login>@corp.test (verified), name = "User <login>".
// Prints "ready <issuer>" on stdout once it listens.

import Provider from 'oidc-provider'

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2)
if (!port || !clientId || !clientSecret || !redirectUri) {
  console.error('usage: provider.mjs <port> <client_id> <client_secret> <redirect_uri>')
  process.exit(2)
}
const issuer = `http://127.0.0.1:${port}`

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  features: { devInteractions: { enabled: true } },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: `${id}@corp.test`, email_verified: true, name: `User ${id}` }
      },
    }
  },
})
provider.proxy = false

provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`ready ${issuer}`)
})
