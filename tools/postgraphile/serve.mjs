// PostGraphile 5 (Amber preset) over the product's database, as the peer of bench/http_peer.py.
//
// It connects as the application role (DATABASE_URL names it; row-level security applies) and
// does the product's per-request security work that PostgreSQL needs: it verifies the product's
// own access token (HS256 with SECRET_KEY, issuer, expiry, `type: access`, the `kid` of the key)
// and hands the user to the RLS policies through `pgSettings`, which PostGraphile writes with
// `set_config(..., true)` inside the request's transaction, as the product does.
//
// With USER_CHECK=1 (bench/http_peer.py's default) it also refuses a token whose user is missing,
// inactive or had its sessions revoked after the token was issued, reading the user's row in a
// transaction of its own as the product does on every request; PostGraphile alone would not.
//
// Environment: DATABASE_URL, SECRET_KEY, HOST (127.0.0.1), PORT, PG_POOL_SIZE (10), USER_CHECK.
import { createHash } from "node:crypto";
import { createServer } from "node:http";

import jwt from "jsonwebtoken";
import pg from "pg";
import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const env = process.env;
const secret = env.SECRET_KEY;
if (!env.DATABASE_URL || !secret) {
  console.error("serve.mjs: DATABASE_URL and SECRET_KEY are required");
  process.exit(2);
}
// The product names its signing key by a digest of it (security/tokens.py:key_id).
const keyId = createHash("sha256").update(secret).digest("hex").slice(0, 16);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function actingUser(authorization) {
  const [scheme, token] = (authorization ?? "").split(" ");
  if (scheme?.toLowerCase() !== "bearer" || !token) {
    throw new Error("authentication required");
  }
  let claims;
  try {
    const { header } = jwt.decode(token, { complete: true }) ?? {};
    if (header?.kid !== keyId) throw new Error("unknown signing key");
    claims = jwt.verify(token, secret, {
      algorithms: ["HS256"],
      issuer: "stratograph",
      clockTolerance: 10,
    });
  } catch {
    throw new Error("invalid token");
  }
  if (claims.type !== "access" || !UUID.test(String(claims.sub)) || !claims.jti) {
    throw new Error("invalid token");
  }
  return { user: String(claims.sub), issuedAt: Number(claims.iat) };
}

const settingsFor = (user) => ({ "app.user_id": user, "app.role": "user" });

async function checkUser({ user, issuedAt }) {
  const client = await pool.connect();
  let row;
  try {
    await client.query("BEGIN");
    await client.query(
      "SELECT set_config('app.user_id', $1, true), set_config('app.role', 'user', true)",
      [user],
    );
    const found = await client.query(
      "SELECT is_active, tokens_valid_after FROM users WHERE id = $1",
      [user],
    );
    await client.query("COMMIT");
    row = found.rows[0];
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
  const revoked = row?.tokens_valid_after && issuedAt * 1000 < row.tokens_valid_after.getTime();
  if (!row?.is_active || revoked) throw new Error("invalid token");
}

const userCheck = env.USER_CHECK === "1";
const pool = new pg.Pool({
  connectionString: env.DATABASE_URL,
  max: Number(env.PG_POOL_SIZE ?? 10),
});

const preset = {
  extends: [PostGraphileAmberPreset],
  // By default only indexed columns get `condition` fields and orderings; the product filters
  // on `provider`, `type` and `deleted_at`, which lead no index, so the peer may too.
  disablePlugins: ["PgIndexBehaviorsPlugin"],
  pgServices: [makePgService({ pool, schemas: ["public"] })],
  grafserv: { graphqlPath: "/graphql", graphiql: false, watch: false },
  grafast: {
    explain: false,
    async context(requestContext) {
      const acting = actingUser(requestContext.http?.getHeader("authorization"));
      if (userCheck) await checkUser(acting);
      return { pgSettings: settingsFor(acting.user) };
    },
  },
};

const serv = postgraphile(preset).createServ(grafserv);
const server = createServer();
server.on("error", (error) => {
  console.error(error);
  process.exit(1);
});
await serv.addTo(server);
const port = Number(env.PORT ?? 5678);
server.listen(port, env.HOST ?? "127.0.0.1", () => {
  // bench/http_peer.py waits for this line before it sends anything.
  console.log(`postgraphile listening on ${env.HOST ?? "127.0.0.1"}:${port}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close();
    serv.release().finally(() => pool.end().finally(() => process.exit(0)));
  });
}
