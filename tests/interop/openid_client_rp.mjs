// A relying party built on panva's certified openid-client (v6), driven by tests/test_interop.py.
//
// Protocol with the test (one JSON object per line): this script writes
// {"type": "login", "url"} or {"type": "logout", "url"} and reads the browser's answer
// ({"callback"} or {"status", "location"}); it ends with {"type": "done", ...results}.
import * as client from 'openid-client';
import readline from 'node:readline';

const env = process.env;
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

async function ask(message) {
  process.stdout.write(JSON.stringify(message) + '\n');
  const { value, done } = await lines.next();
  if (done) throw new Error('the test closed stdin');
  return JSON.parse(value);
}

const config = await client.discovery(
  new URL(env.OP_ISSUER), env.RP_CLIENT_ID, env.RP_SECRET,
  client.ClientSecretBasic(env.RP_SECRET),
  { execute: [client.allowInsecureRequests] }, // the test OP runs on http://127.0.0.1
);

const verifier = client.randomPKCECodeVerifier();
const nonce = client.randomNonce();
const state = client.randomState();
const url = client.buildAuthorizationUrl(config, {
  redirect_uri: env.RP_REDIRECT,
  scope: 'openid profile offline_access',
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: 'S256',
  nonce,
  state,
});
const { callback } = await ask({ type: 'login', url: url.href });

// Checks state, the RFC 9207 iss parameter, PKCE, and the ID token (signature via jwks_uri,
// iss, aud, exp, iat, nonce).
const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
  pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state, idTokenExpected: true,
});
const claims = tokens.claims();
const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);

const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
const refreshedSub = refreshed.claims()?.sub;

await client.tokenRevocation(config, refreshed.refresh_token, { token_type_hint: 'refresh_token' });
const introspection = await client.tokenIntrospection(config, refreshed.access_token);

const logoutUrl = client.buildEndSessionUrl(config, {
  id_token_hint: tokens.id_token, post_logout_redirect_uri: env.RP_BYE, state: 'node-bye',
});
const logout = await ask({ type: 'logout', url: logoutUrl.href });

process.stdout.write(JSON.stringify({
  type: 'done',
  claims,
  userinfo,
  refreshed_sub: refreshedSub,
  refresh_rotated: refreshed.refresh_token !== tokens.refresh_token,
  introspection_after_revoke: introspection,
  logout,
}) + '\n');
process.exit(0);
