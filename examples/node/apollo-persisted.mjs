// Apollo Client 4 with its persisted-query link, for a server running with TRUSTED_DOCUMENTS_FILE:
// every request first goes out as a SHA-256 hash alone; the operations come from ./operations.
//   STRATOGRAPH_URL=... STRATOGRAPH_EMAIL=... STRATOGRAPH_PASSWORD=... node apollo-persisted.mjs
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

const url = process.env.STRATOGRAPH_URL ?? 'http://127.0.0.1:8000/graphql';
const operation = (name) => gql(readFileSync(new URL(`./operations/${name}.graphql`, import.meta.url), 'utf8'));
let accessToken = null;
const hashOnly = []; // for the demo: did each request travel as a hash alone?

const client = new ApolloClient({
  link: new SetContextLink(({ headers }) => ({
    headers: accessToken ? { ...headers, authorization: `Bearer ${accessToken}` } : headers,
  }))
    .concat(new PersistedQueryLink({ sha256: (text) => createHash('sha256').update(text).digest('hex') }))
    .concat(new HttpLink({
      uri: url,
      fetch: (uri, options) => {
        hashOnly.push(!JSON.parse(options.body).query);
        return fetch(uri, options);
      },
    })),
  cache: new InMemoryCache(),
});

const { data: login } = await client.mutate({
  mutation: operation('NodeLogIn'),
  variables: { input: { email: process.env.STRATOGRAPH_EMAIL, password: process.env.STRATOGRAPH_PASSWORD } },
});
accessToken = login.logIn.accessToken;
const { data } = await client.query({ query: operation('NodeMe') });
console.log(`persisted: me ${data.me.email}; hash-only requests: ${hashOnly.join(',')}`);

// An operation the allow-list does not hold is refused, even after Apollo retries with its text.
try {
  await client.query({ query: gql`query Untrusted { me { role } }` });
  console.log('persisted: untrusted operation ran');
} catch (error) {
  console.log(`persisted: untrusted operation refused: ${error.errors?.[0]?.extensions?.code ?? error.message}`);
}
