// urql (core) against stratograph: fetch for queries and mutations, graphql-ws for subscriptions.
//   STRATOGRAPH_URL=http://127.0.0.1:8000/graphql STRATOGRAPH_EMAIL=... STRATOGRAPH_PASSWORD=... node urql.mjs
import { Client, fetchExchange, gql, subscriptionExchange } from '@urql/core';
import { createClient as createWSClient } from 'graphql-ws';
import WebSocket from 'ws'; // browsers have WebSocket built in; Node 20 needs `ws`

const url = process.env.STRATOGRAPH_URL ?? 'http://127.0.0.1:8000/graphql';
let accessToken = null; // from logIn; keep it in memory, never in localStorage

const wsClient = createWSClient({
  url: url.replace(/^http/, 'ws'),
  webSocketImpl: WebSocket,
  connectionParams: () => ({ Authorization: `Bearer ${accessToken}` }),
});
const client = new Client({
  url,
  fetchOptions: () => (accessToken ? { headers: { authorization: `Bearer ${accessToken}` } } : {}),
  exchanges: [
    fetchExchange,
    subscriptionExchange({
      forwardSubscription: (request) => ({
        subscribe: (sink) => ({ unsubscribe: wsClient.subscribe({ ...request, query: request.query ?? '' }, sink) }),
      }),
    }),
  ],
});

const LOG_IN = gql`
  mutation LogIn($email: String!, $password: String!) {
    logIn(input: { email: $email, password: $password }) {
      accessToken
      userErrors { code message }
    }
  }
`;
const ME = gql`
  query Me { me { email } }
`;
const SYNC_JOBS = gql`
  query LastSyncJob { syncJobs(first: 1) { edges { node { id status } } } }
`;
const SYNC_JOB = gql`
  subscription SyncJob($id: ID!) { syncJob(id: $id) { id status progress } }
`;

const login = await client.mutation(LOG_IN, {
  email: process.env.STRATOGRAPH_EMAIL,
  password: process.env.STRATOGRAPH_PASSWORD,
});
if (login.error) throw login.error;
if (login.data.logIn.userErrors.length) throw new Error(login.data.logIn.userErrors[0].message);
accessToken = login.data.logIn.accessToken;

const me = await client.query(ME, {}, { requestPolicy: 'network-only' });
if (me.error) throw me.error;
console.log(`urql: logged in as ${me.data.me.email}`);

const jobs = await client.query(SYNC_JOBS, {}, { requestPolicy: 'network-only' });
if (jobs.error) throw jobs.error;
const job = jobs.data.syncJobs.edges[0].node;
// A finished job still answers once with its final state, then the subscription completes.
await new Promise((resolve, reject) => {
  const { unsubscribe } = client.subscription(SYNC_JOB, { id: job.id }).subscribe((result) => {
    if (result.error) return reject(result.error);
    console.log(`urql: sync ${result.data.syncJob.status} ${result.data.syncJob.progress}`);
    if (['SUCCEEDED', 'PARTIAL', 'FAILED'].includes(result.data.syncJob.status)) {
      unsubscribe();
      resolve();
    }
  });
});
await wsClient.dispose();
