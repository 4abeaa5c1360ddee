// node-oidc-provider configured like this OP for the benchmarks (bench/peer.py starts it).
//
// Environment: PEER_PORT, PEER_ISSUER, PEER_CLIENTS (a JSON file: the client list),
// NODE_ENV=production, PEER_ADAPTER (memory or redis), PEER_REDIS_URL, PEER_REDIS_PREFIX.  One
// Node process, as the library's documentation runs it; sessions, grants, codes and tokens in
// its memory adapter (in this process) or in Redis (redis_adapter.mjs).
//
// What matches this OP: RS256 (RSA-2048) and ES256 (P-256) signing keys published in the
// JWKS; client-credentials access tokens are RFC 9068 JWTs signed with RS256 (through a
// resource server, which is how this library issues JWT access tokens), 600 s; the code
// flow requires PKCE S256, always issues a refresh token and rotates it on every use, and
// its ID tokens are RS256.  The login and consent pages are the library's development
// pages; the code-flow benchmark passes them once per user before it measures.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const RESOURCE = 'urn:idp-bench:api';
const port = Number(process.env.PEER_PORT || 3000);
const issuer = process.env.PEER_ISSUER || `http://127.0.0.1:${port}`;
const clients = JSON.parse(readFileSync(process.env.PEER_CLIENTS, 'utf8'));
// PEER_ADAPTER=redis: the provider's state in Redis (redis_adapter.mjs), as the library requires
// of a deployment; otherwise its development-only memory adapter, in this process.
const adapter = process.env.PEER_ADAPTER === 'redis'
  ? { adapter: (await import('./redis_adapter.mjs')).default } : {};

function signingKey(type, options, alg) {
  const jwk = generateKeyPairSync(type, options).privateKey.export({ format: 'jwk' });
  return { ...jwk, alg, use: 'sig' };
}

const provider = new Provider(issuer, {
  ...adapter,
  clients,
  jwks: {
    keys: [
      signingKey('rsa', { modulusLength: 2048 }, 'RS256'),
      signingKey('ec', { namedCurve: 'P-256' }, 'ES256'),
    ],
  },
  cookies: { keys: [process.env.PEER_COOKIE_KEY || 'bench-cookie-key-0123456789abcdef'] },
  scopes: ['openid', 'offline_access', 'profile', 'liveness'],
  claims: { openid: ['sub'], profile: ['name', 'birthdate', 'gender'] },
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return { sub, name: 'Bench User', birthdate: '1990-01-01', gender: 'male' };
      },
    };
  },
  pkce: { required: () => true },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: () => true,
  ttl: {
    AccessToken: 600,
    ClientCredentials: 600,
    IdToken: 600,
    AuthorizationCode: 60,
    RefreshToken: 30 * 24 * 3600,
    Grant: 30 * 24 * 3600,
    Session: 8 * 3600,
    Interaction: 600,
  },
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Client credentials get the JWT resource server; the code flow's access token stays
      // the library's default (opaque, for /me), since a resource-bound token is refused there.
      async defaultResource(ctx, client, oneOf) {
        if (oneOf) return oneOf;
        return ctx.oidc.params?.grant_type === 'client_credentials' ? RESOURCE : undefined;
      },
      async getResourceServerInfo() {
        return {
          scope: 'liveness',
          audience: RESOURCE,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
      async useGrantedResource() {
        return false;
      },
    },
  },
});

provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`peer listening on ${issuer}\n`);
});
