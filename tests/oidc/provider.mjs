// A real OpenID provider (panva's oidc-provider) for the single sign-on tests, on loopback.
//
//   node provider.mjs   with the environment:
//     OIDC_PORT        port on 127.0.0.1
//     OIDC_ISSUER      the issuer URL (http://127.0.0.1:PORT, or another name for the
//                      wrong-issuer case: a second provider sharing the same keys)
//     OIDC_JWKS_FILE   private signing keys (a JWKS the tests generate: RS256 and ES256)
//     OIDC_CLIENTS     JSON list of client metadata (client_id, secret, redirect_uris)
//     OIDC_RESOURCES   JSON object: resource indicator -> audience of its JWT access tokens
//     OIDC_ADMIN_TOKEN bearer token of the test's own routes below
//
// The tests steer the people through /test/accounts (PUT one, by id): password, claims
// (name, roles, school...), whether the account is gone (revoked at the provider: a
// refresh then fails), and the lifetime of its access tokens.
//
// The login form is this file's own interaction (login + password, then straight back to
// the client: first-party clients are granted what they ask, no consent page).
import { readFileSync } from 'node:fs';

import Provider, { errors } from 'oidc-provider';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const port = Number(env('OIDC_PORT'));
const issuer = env('OIDC_ISSUER');
const jwks = JSON.parse(readFileSync(env('OIDC_JWKS_FILE'), 'utf8'));
const clients = JSON.parse(env('OIDC_CLIENTS'));
const resources = JSON.parse(env('OIDC_RESOURCES'));
const adminToken = env('OIDC_ADMIN_TOKEN');

// id -> { password, claims: {...}, revoked: bool, accessTtl: seconds }
const accounts = new Map();
const DEFAULT_ACCESS_TTL = 600;

function account(id) {
  const found = accounts.get(id);
  return found && !found.revoked ? found : undefined;
}

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const configuration = {
  clients,
  jwks,
  cookies: { keys: [adminToken] },
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email'],
    smartschool: ['roles', 'school'],
  },
  // The id token carries the claims of its scopes even alongside an access token: the
  // dashboard reads the role and school from it at sign-in and at every refresh.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: false },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: (_ctx, _client, oneOf) => oneOf,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, indicator) => {
        if (!(indicator in resources)) throw new errors.InvalidTarget();
        return {
          scope: 'api',
          audience: resources[indicator],
          accessTokenFormat: 'jwt',
          accessTokenTTL: DEFAULT_ACCESS_TTL,
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  // The platform puts the role and school in its access tokens too: the API maps them.
  extraTokenClaims: (_ctx, token) => {
    const found = account(token.accountId);
    if (!found) return undefined;
    const { roles, school, preferred_username: username } = found.claims;
    return { roles, school, preferred_username: username };
  },
  ttl: {
    AccessToken: (_ctx, token) => account(token.accountId)?.accessTtl ?? DEFAULT_ACCESS_TTL,
    IdToken: 600,
    RefreshToken: 3600,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  findAccount: (_ctx, id) => {
    const found = account(id);
    if (!found) return undefined;
    return {
      accountId: id,
      claims: () => ({ sub: id, ...found.claims }),
    };
  },
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    // A grant revoked meanwhile (sign-out revokes it with its refresh token) is replaced.
    const existing = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
    if (existing) return existing;
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile email smartschool offline_access');
    for (const indicator of Object.keys(resources)) grant.addResourceScope(indicator, 'api');
    await grant.save();
    return grant;
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  renderError: (ctx, out) => {
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><title>error</title><pre id="error">${escape(JSON.stringify(out))}</pre>`;
  },
};

const provider = new Provider(issuer, configuration);

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function loginPage(uid, error) {
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sector sign-in</title></head>
<body><h1>Sector identity platform</h1>
${error ? `<p id="op-error">${escape(error)}</p>` : ''}
<form id="op-login" method="post" action="/interaction/${escape(uid)}/login">
<label>Login <input id="op-username" name="login" autocomplete="username"></label>
<label>Password <input id="op-password" name="password" type="password"></label>
<button id="op-submit" type="submit">Sign in</button>
</form></body></html>`;
}

provider.use(async (ctx, next) => {
  const interaction = ctx.path.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (interaction) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== interaction[1]) ctx.throw(400, 'interaction mismatch');
    if (ctx.method === 'GET' && !interaction[2]) {
      ctx.type = 'html';
      ctx.body = loginPage(details.uid);
      return;
    }
    if (ctx.method === 'POST' && interaction[2]) {
      const form = await readForm(ctx.req);
      const id = form.get('login') ?? '';
      const found = account(id);
      if (!found || found.password !== form.get('password')) {
        ctx.status = 401;
        ctx.type = 'html';
        ctx.body = loginPage(details.uid, 'wrong login or password');
        return;
      }
      const to = await provider.interactionResult(ctx.req, ctx.res, {
        login: { accountId: id },
      }, { mergeWithLastSubmission: false });
      ctx.redirect(to);
      return;
    }
    ctx.throw(405);
  }
  if (ctx.path.startsWith('/test/')) {
    if (ctx.get('authorization') !== `Bearer ${adminToken}`) ctx.throw(401);
    const target = ctx.path.match(/^\/test\/accounts\/([^/]+)$/);
    if (target && ctx.method === 'PUT') {
      const chunks = [];
      for await (const chunk of ctx.req) chunks.push(chunk);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      accounts.set(decodeURIComponent(target[1]), {
        password: body.password,
        claims: body.claims ?? {},
        revoked: Boolean(body.revoked),
        accessTtl: body.access_ttl ?? DEFAULT_ACCESS_TTL,
      });
      ctx.status = 204;
      return;
    }
    ctx.throw(404);
  }
  await next();
});

provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`oidc-provider ${issuer} listening on 127.0.0.1:${port}\n`);
});
