// Live updates, measured with the `graphql-ws` client (bench/live.sh starts the servers).
//
//   node bench.mjs <url of replica A> <url of replica B> <pid of A> <idle subscriptions> <changes>
//
// 1. Opens <idle subscriptions> sockets on A, one `riskChanged` subscription each (in the
//    tenant BENCH_IDLE_TENANT names, by default the one that changes), and reports A's RSS
//    before and after (from /proc).
// 2. Subscribes once more on A to `opportunityChanged`, then makes <changes> updates one after
//    another through B and reports, per change, the time from sending the mutation to the
//    event arriving on A (an upper bound of commit-to-subscriber latency): p50, p99, max.
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";

const [a, b, pid, idle, changes] = process.argv.slice(2);
const secret = process.env.DEALGRAPH_JWT_SECRET;

function token(tenant) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const body = `${enc({ alg: "HS256", typ: "JWT" })}.${enc({
    sub: "bench", tid: tenant, roles: ["admin"], exp: Math.floor(Date.now() / 1000) + 3600,
  })}`;
  return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}

function rssMiB() {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

async function gql(url, query, variables) {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${auth}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

function client(url, as = auth) {
  return createClient({
    url: url.replace("http://", "ws://") + "/graphql",
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${as}` },
    lazy: false,
    retryAttempts: 0,
  });
}

const auth = token("bench-live");
// BENCH_IDLE_TENANT puts the idle subscriptions in another tenant (many tenants on one replica).
const idleTenant = process.env.BENCH_IDLE_TENANT || "bench-live";
const idleAuth = token(idleTenant);
const account = (await gql(b, 'mutation { createAccount(input: {name: "Live"}) { id } }')).createAccount.id;
const deal = (await gql(b, 'mutation($a: ID!) { createOpportunity(input: {accountId: $a, name: "Live deal", amount: "100", currency: "USD"}) { id version } }', { a: account })).createOpportunity;

// 1. Idle subscriptions.
const before = rssMiB();
const clients = [];
const opened = [];
for (let i = 0; i < Number(idle); i++) {
  const c = client(a, idleAuth);
  clients.push(c);
  opened.push(new Promise((resolve, reject) => {
    c.on("connected", resolve);
    c.on("error", reject);
    c.subscribe({ query: "subscription { riskChanged(minLevel: CRITICAL) { current { score } } }" },
      { next: () => {}, error: reject, complete: () => {} });
  }));
  if (i % 500 === 499) await Promise.all(opened.slice(-500));
}
await Promise.all(opened);
await new Promise((r) => setTimeout(r, 2000));
const after = rssMiB();
console.log(`idle subscriptions: ${idle} (tenant ${idleTenant}); replica A RSS ${before.toFixed(1)} MiB before, ${after.toFixed(1)} MiB after`);

// 2. Cross-replica latency.
const watcher = client(a);
let waiting = null;
await new Promise((resolve, reject) => {
  watcher.on("connected", resolve);
  watcher.subscribe({ query: "subscription { opportunityChanged { opportunity { version } } }" }, {
    next: ({ data }) => { if (waiting && data.opportunityChanged.opportunity.version === waiting.version) waiting.done(); },
    error: reject, complete: () => {},
  });
});
await new Promise((r) => setTimeout(r, 500));
const took = [];
let version = deal.version;
for (let i = 0; i < Number(changes); i++) {
  const started = performance.now();
  const arrived = new Promise((resolve) => { waiting = { version: version + 1, done: resolve }; });
  await gql(b, "mutation($id: ID!, $v: Int!, $n: String!) { updateOpportunity(input: {id: $id, expectedVersion: $v, name: $n}) { version } }",
    { id: deal.id, v: version, n: `Live deal ${i}` });
  await arrived;
  took.push(performance.now() - started);
  version += 1;
}
took.sort((x, y) => x - y);
const at = (q) => took[Math.min(took.length - 1, Math.floor(q * took.length))].toFixed(1);
console.log(`change on B → event on A over ${changes} changes: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${took[took.length - 1].toFixed(1)} ms`);
for (const c of [...clients, watcher]) c.dispose();
process.exit(0);
