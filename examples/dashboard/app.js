// The example dashboard: log in, page through resources, watch a sync over the WebSocket.
// Plain ES module, no build step. Operations are the .graphql files in ./operations (the same
// files the TypeScript codegen and the trusted-documents allow-list are built from).
import { subscribe } from './graphql-ws.js';

const params = new URLSearchParams(location.search);
const API_URL = params.get('api') ?? 'http://127.0.0.1:8000/graphql';
const WS_URL = API_URL.replace(/^http/, 'ws');
const PAGE_SIZE = Number(params.get('pageSize') ?? 10);

// The access token lives in this variable only: never in localStorage, sessionStorage or a
// cookie, so it is gone when the tab closes and no other page can read it.
let accessToken = null;
let pageNumber = 1;
let pageInfo = null;

const $ = (id) => document.getElementById(id);
const operations = new Map();

class ApiError extends Error {
  constructor(message, code) {
    super(code ? `${code}: ${message}` : message);
    this.code = code;
  }
}

async function operationText(name) {
  if (!operations.has(name)) {
    const response = await fetch(`./operations/${name}.graphql`);
    if (!response.ok) throw new Error(`operation ${name} not found`);
    operations.set(name, await response.text());
  }
  return operations.get(name);
}

async function graphql(name, variables = {}) {
  const headers = {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json, application/json',
  };
  if (accessToken) headers.authorization = `Bearer ${accessToken}`;
  const query = await operationText(name);
  let response;
  try {
    response = await fetch(API_URL, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables, operationName: name }),
    });
  } catch {
    // fetch only says "Failed to fetch"; the console has the CORS detail.
    throw new ApiError(`the API at ${API_URL} refused this page's origin (CORS) or is down`, 'NETWORK');
  }
  const body = await response.json();
  if (body.errors?.length) {
    throw new ApiError(body.errors[0].message, body.errors[0].extensions?.code);
  }
  return body.data;
}

function firstUserError(payload) {
  const [error] = payload.userErrors;
  return error ? new ApiError(error.message, error.code) : null;
}

function showStatus(text, isError = false) {
  $('status').textContent = text;
  $('status').className = isError ? 'error' : '';
}

async function logIn(event) {
  event.preventDefault();
  showStatus('logging in…');
  try {
    const { logIn: payload } = await graphql('LogIn', {
      email: $('email').value,
      password: $('password').value,
    });
    const refused = firstUserError(payload);
    if (refused) throw refused;
    accessToken = payload.accessToken;
    $('password').value = '';
    const { me } = await graphql('Me');
    $('who').textContent = `logged in as ${me.email}`;
    $('login-form').hidden = true;
    $('app').hidden = false;
    showStatus('');
    await loadPage(forward(null));
  } catch (error) {
    showStatus(`login failed: ${error.message}`, true);
  }
}

async function loadPage(variables, direction = 0) {
  const { resources } = await graphql('Resources', variables);
  pageInfo = resources.pageInfo;
  pageNumber += direction;
  $('total').textContent = `(${resources.totalCount})`;
  $('page').textContent = `page ${pageNumber}`;
  $('prev').disabled = !pageInfo.hasPreviousPage;
  $('next').disabled = !pageInfo.hasNextPage;
  const rows = resources.edges.map(({ node }) => {
    const row = document.createElement('tr');
    for (const value of [node.name, node.provider, node.type, node.nativeType, node.region, node.status]) {
      const cell = document.createElement('td');
      cell.textContent = value ?? '';
      row.append(cell);
    }
    return row;
  });
  $('resources').replaceChildren(...rows);
}

async function syncNow() {
  $('sync').disabled = true;
  $('sync-progress').value = 0;
  try {
    const { startSync: payload } = await graphql('StartSyncAll');
    const refused = firstUserError(payload);
    if (refused) throw refused;
    const query = await operationText('SyncJobProgress');
    const progress = new Map(payload.jobs.map((job) => [job.id, job.progress]));
    const finals = await Promise.all(
      payload.jobs.map(async (job) => {
        let last = job;
        await subscribe({
          url: WS_URL,
          token: accessToken,
          query,
          variables: { id: job.id },
          operationName: 'SyncJobProgress',
          onNext: ({ syncJob }) => {
            last = syncJob;
            progress.set(syncJob.id, syncJob.progress);
            const total = [...progress.values()].reduce((sum, value) => sum + value, 0);
            $('sync-progress').value = Math.round((100 * total) / progress.size);
            $('sync-status').textContent = `${syncJob.status} ${Math.round(100 * syncJob.progress)}%`;
          },
        });
        return last;
      }),
    );
    const added = finals.reduce((sum, job) => sum + (job.added ?? 0), 0);
    $('sync-status').textContent = `${finals.map((job) => job.status).join(', ')}: ${added} added`;
    pageNumber = 1;
    await loadPage(forward(null));
  } catch (error) {
    $('sync-status').textContent = `sync failed: ${error.message}`;
  } finally {
    $('sync').disabled = false;
  }
}

$('api-url').textContent = API_URL;
$('login-form').addEventListener('submit', logIn);
$('sync').addEventListener('click', syncNow);
// Forward pages use first/after, backward pages last/before; the other pair is left out.
const forward = (after) => ({ first: PAGE_SIZE, after });
const backward = (before) => ({ last: PAGE_SIZE, before });
$('next').addEventListener('click', () => loadPage(forward(pageInfo.endCursor), 1));
$('prev').addEventListener('click', () => loadPage(backward(pageInfo.startCursor), -1));
document.body.dataset.ready = 'true';
