// Apollo Client 4 against stratograph: HTTP for queries and mutations, graphql-ws
// (graphql-transport-ws) for subscriptions, the access token in memory.
//   STRATOGRAPH_URL=http://127.0.0.1:8000/graphql STRATOGRAPH_EMAIL=... STRATOGRAPH_PASSWORD=... node apollo.mjs
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { OperationTypeNode } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws'; // browsers have WebSocket built in; Node 20 needs `ws`

const url = process.env.STRATOGRAPH_URL ?? 'http://127.0.0.1:8000/graphql';
let accessToken = null; // from logIn; keep it in memory, never in localStorage

const auth = new SetContextLink(({ headers }) => ({
  headers: accessToken ? { ...headers, authorization: `Bearer ${accessToken}` } : headers,
}));
const wsLink = new GraphQLWsLink(
  createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: () => ({ Authorization: `Bearer ${accessToken}` }),
  }),
);
const client = new ApolloClient({
  link: ApolloLink.split(
    ({ operationType }) => operationType === OperationTypeNode.SUBSCRIPTION,
    wsLink,
    auth.concat(new HttpLink({ uri: url })),
  ),
  cache: new InMemoryCache(),
});

const LOG_IN = gql`
  mutation LogIn($email: String!, $password: String!) {
    logIn(input: { email: $email, password: $password }) {
      accessToken
      userErrors { code message }
    }
  }
`;
const RESOURCES = gql`
  query FirstResources {
    resources(first: 5) { totalCount edges { node { id name type } } }
  }
`;
const START_SYNC = gql`
  mutation StartSync {
    startSync(input: {}) { jobs { id status } userErrors { code message } }
  }
`;
const SYNC_JOB = gql`
  subscription SyncJob($id: ID!) {
    syncJob(id: $id) { id status progress added }
  }
`;

const { data: login } = await client.mutate({
  mutation: LOG_IN,
  variables: { email: process.env.STRATOGRAPH_EMAIL, password: process.env.STRATOGRAPH_PASSWORD },
});
if (login.logIn.userErrors.length) throw new Error(login.logIn.userErrors[0].message);
accessToken = login.logIn.accessToken;

const { data: started } = await client.mutate({ mutation: START_SYNC });
const [job] = started.startSync.jobs;
await new Promise((resolve, reject) => {
  client.subscribe({ query: SYNC_JOB, variables: { id: job.id } }).subscribe({
    next: ({ data }) => console.log(`apollo: sync ${data.syncJob.status} ${data.syncJob.progress}`),
    error: reject,
    complete: resolve,
  });
});
const { data } = await client.query({ query: RESOURCES, fetchPolicy: 'network-only' });
console.log(`apollo: ${data.resources.totalCount} resources, first: ${data.resources.edges[0]?.node.name}`);
await wsLink.client.dispose();
