// colmeia chat page: plain JS, no build step. It asks for the API key (kept in sessionStorage, or
// localStorage when "remember" is ticked), sends it as Bearer on fetch and as ?access_token= on
// EventSource (which cannot send headers). Everything it shows and sends belongs to the collection
// picked (GET /collections): its documents, uploads, chat sessions (listed by the service, never
// kept in the browser) and questions go to /collections/<id>/…. A session's answers stream over
// SSE; when the stream drops, EventSource reconnects with Last-Event-ID; when it keeps failing (or
// is refused), the page polls GET …/messages?after= and tries the stream again now and then.
const KEY_STORAGE = 'colmeia.apiKey';
const COLLECTION_STORAGE = 'colmeia.collection'; // the collection last picked on this device
const LEGACY_SESSIONS_STORAGE = 'colmeia.sessions'; // the session list earlier pages kept: the service lists sessions now
const DEFAULT_COLLECTION = 'default';
const POLL_MS = 2000; // polling interval once the stream has failed
const STREAM_GIVE_UP_MS = 6000; // reconnecting this long without success: fall back to polling
const STREAM_RETRY_MS = 15000; // while polling, try the stream again this often
const DOCUMENTS_REFRESH_MS = 1000; // while a document is pending or indexing

const $ = (id) => document.getElementById(id);
const state = {
  key: sessionStorage.getItem(KEY_STORAGE) ?? localStorage.getItem(KEY_STORAGE) ?? '',
  collection: localStorage.getItem(COLLECTION_STORAGE) ?? DEFAULT_COLLECTION,
  collections: [], // GET /collections, active ones
  sessions: [], // the collection's sessions, newest first
  sessionId: '',
  lastId: 0,
  source: null,
  giveUpTimer: 0,
  pollTimer: 0,
  retryTimer: 0,
  docsTimer: 0,
  answers: new Map(), // question id → its assistant bubble
  seen: new Set(), // message ids rendered
};

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body, headers = {}) {
  const init = { method, headers: { Accept: 'application/json', ...headers } };
  if (state.key) init.headers.Authorization = `Bearer ${state.key}`;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const data = (response.headers.get('content-type') ?? '').includes('json') ? await response.json() : null;
  if (!response.ok) throw new ApiError(response.status, data?.error?.message ?? `${response.status} ${response.statusText}`);
  return data;
}

/** The path of `path` within the collection picked. */
function scoped(path) {
  return `/collections/${encodeURIComponent(state.collection)}${path}`;
}

function randomKey() {
  // Idempotency-Key; crypto.randomUUID needs a secure context, getRandomValues does not
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function setConnection(name, text) {
  $('connection').dataset.state = name;
  $('connection-text').textContent = text;
}

// --- collections ----------------------------------------------------------------------------
async function refreshCollections() {
  try {
    const page = await api('GET', '/collections');
    state.collections = page.collections.filter((c) => c.status === 'active');
  } catch (err) {
    state.collections = [];
    showProblem(err);
  }
  if (!state.collections.some((c) => c.id === state.collection)) state.collection = DEFAULT_COLLECTION;
  const shown = state.collections.length > 0 ? state.collections : [{ id: state.collection, title: null }];
  $('collection-select').replaceChildren(...shown.map((c) => el('option', { value: c.id }, c.id)));
  $('collection-select').value = state.collection;
}

/** Shows collection `id`: its documents and sessions; opens `sessionId` if it is one of them, else the newest. */
async function chooseCollection(id, sessionId = '') {
  state.collection = id;
  localStorage.setItem(COLLECTION_STORAGE, id);
  $('collection-select').value = id;
  $('collection-title').textContent = state.collections.find((c) => c.id === id)?.title ?? '';
  await openSession(''); // the previous collection's session stops streaming at once
  await Promise.all([refreshDocuments(), refreshSessions()]);
  if (state.collection !== id) return; // another pick came meanwhile
  const chosen = state.sessions.some((s) => s.id === sessionId) ? sessionId : (state.sessions[0]?.id ?? '');
  await openSession(chosen);
  $('collection-select').dataset.shown = id; // its documents, sessions and the session picked are on screen
}

// --- documents ------------------------------------------------------------------------------
async function refreshDocuments() {
  clearTimeout(state.docsTimer);
  const collection = state.collection;
  let page;
  try {
    page = await api('GET', scoped('/documents?limit=200'));
  } catch (err) {
    return showProblem(err);
  }
  if (collection !== state.collection) return; // a list of the collection shown before
  const list = $('document-list');
  list.replaceChildren(
    ...page.documents.map((doc) =>
      el(
        'li',
        { 'data-id': doc.id, 'data-status': doc.status, title: `document ${doc.id}` },
        el(
          'span',
          { class: 'doc-text' },
          el('span', { class: 'doc-title' }, doc.title || doc.id),
          el('br'),
          el(
            'span',
            { class: 'doc-meta' },
            [doc.metadata?.source?.fileName ?? doc.id, doc.status === 'ready' ? `${doc.chunkCount} chunk${doc.chunkCount === 1 ? '' : 's'}` : doc.error]
              .filter(Boolean)
              .join(' · '),
          ),
        ),
        el('span', { class: 'badge', 'data-status': doc.status }, doc.status),
      ),
    ),
  );
  if (page.documents.length === 0) list.append(el('li', { class: 'empty' }, 'No documents yet: upload one.'));
  if (page.documents.some((doc) => doc.status === 'pending' || doc.status === 'indexing')) state.docsTimer = setTimeout(refreshDocuments, DOCUMENTS_REFRESH_MS);
}

function upload(file, title, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest(); // fetch() reports no upload progress
    xhr.open('POST', scoped('/documents'));
    xhr.responseType = 'json';
    xhr.setRequestHeader('Accept', 'application/json');
    if (state.key) xhr.setRequestHeader('Authorization', `Bearer ${state.key}`);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(Math.round((event.loaded / event.total) * 100));
    };
    xhr.onload = () =>
      xhr.status === 202 ? resolve(xhr.response) : reject(new ApiError(xhr.status, xhr.response?.error?.message ?? `upload failed (${xhr.status})`));
    xhr.onerror = () => reject(new ApiError(0, 'the upload did not reach the service'));
    const form = new FormData();
    if (title) form.append('title', title);
    form.append('file', file);
    xhr.send(form);
  });
}

async function onUpload(event) {
  event.preventDefault();
  const file = $('upload-file').files[0];
  const status = $('upload-status');
  const progress = $('upload-progress');
  if (!file) return;
  status.className = 'status-line';
  progress.hidden = false;
  progress.value = 0;
  try {
    const accepted = await upload(file, $('upload-title').value.trim(), (percent) => {
      progress.value = percent;
      status.textContent = `uploading ${file.name}: ${percent}%`;
    });
    status.textContent = `${file.name} stored as ${accepted.document.id}; indexing…`;
    $('upload-form').reset();
    await refreshDocuments();
    await followJob(accepted.job, status, file.name);
  } catch (err) {
    status.className = 'status-line error';
    status.textContent = err.message;
  } finally {
    progress.hidden = true;
  }
}

async function followJob(job, status, name) {
  for (;;) {
    const view = await api('GET', `/jobs/${job.queue}/${encodeURIComponent(job.id)}`);
    if (view.status === 'succeeded') {
      status.textContent = `${name} is ready`;
      break;
    }
    if (view.status === 'failed') {
      status.className = 'status-line error';
      status.textContent = `${name} failed: ${view.error?.message ?? 'see the document'}`;
      break;
    }
    status.textContent = `${name}: ${view.status} ${view.progress}%`;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await refreshDocuments();
}

// --- sessions and messages ------------------------------------------------------------------
async function refreshSessions() {
  const collection = state.collection;
  let page;
  try {
    page = await api('GET', scoped('/chat/sessions'));
  } catch (err) {
    page = { sessions: [] };
    showProblem(err);
  }
  if (collection !== state.collection) return;
  state.sessions = page.sessions;
  renderSessions();
}

function renderSessions() {
  const select = $('session-select');
  select.replaceChildren(...state.sessions.map((s) => el('option', { value: s.id }, s.title || s.id)));
  if (state.sessions.length === 0) select.append(el('option', { value: '' }, 'no session yet'));
  select.value = state.sessionId;
  $('delete-session').disabled = !state.sessionId;
}

async function newSession() {
  const session = await api('POST', scoped('/chat/sessions'), { title: `Chat ${new Date().toLocaleString()}` }, { 'Idempotency-Key': randomKey() });
  state.sessions = [session, ...state.sessions.filter((s) => s.id !== session.id)];
  await openSession(session.id);
  $('question').focus();
}

async function deleteSession() {
  const session = state.sessions.find((s) => s.id === state.sessionId);
  if (!session || !confirm(`Delete the session "${session.title || session.id}" and its messages?`)) return;
  await api('DELETE', scoped(`/chat/sessions/${encodeURIComponent(session.id)}`));
  state.sessions = state.sessions.filter((s) => s.id !== session.id);
  await openSession(state.sessions[0]?.id ?? '');
}

async function openSession(id) {
  closeStream();
  stopPolling();
  Object.assign(state, { sessionId: id, lastId: 0 });
  state.answers.clear();
  state.seen.clear();
  $('messages').replaceChildren();
  renderSessions();
  if (!id) return setConnection('idle', 'no session');
  await pollOnce(); // the history, then the stream from there
  openStream();
}

function renderMessage(message) {
  if (message.sessionId !== state.sessionId || state.seen.has(message.id)) return;
  state.seen.add(message.id);
  state.lastId = Math.max(state.lastId, message.id);
  if (message.role === 'user') {
    $('messages').append(el('li', { class: 'msg user', 'data-id': message.id }, message.content));
    answerBubble(message.id); // waits for its answer
  } else {
    const bubble = answerBubble(message.replyTo);
    const isError = message.metadata?.type === 'analysis_error';
    bubble.dataset.state = isError ? 'error' : 'done';
    bubble.dataset.id = message.id;
    bubble.removeAttribute('aria-busy');
    bubble.querySelector('.content').textContent = isError ? `No answer: ${message.metadata.error?.message ?? 'failed'}` : message.content;
    bubble.querySelector('.note').textContent = '';
    const sources = message.metadata?.sources ?? [];
    if (sources.length > 0) {
      bubble.append(
        el(
          'div',
          { class: 'sources' },
          el('h4', {}, 'Sources'),
          el(
            'ol',
            {},
            ...sources.map((s) =>
              el(
                'li',
                { 'data-document-id': s.documentId, title: `document ${s.documentId}` },
                `${s.title || s.documentId} `,
                el('span', { class: 'score' }, `score ${s.score.toFixed(2)}`),
              ),
            ),
          ),
        ),
      );
    }
  }
  $('messages').lastElementChild?.scrollIntoView({ block: 'end' });
}

function answerBubble(questionId) {
  let bubble = state.answers.get(questionId);
  if (!bubble) {
    bubble = el(
      'li',
      { class: 'msg assistant', 'data-reply-to': questionId, 'data-state': 'waiting', 'data-deltas': '0', 'aria-busy': 'true' },
      el('span', { class: 'note' }, 'waiting for a worker…'),
      el('div', { class: 'content', 'aria-live': 'polite' }),
    );
    state.answers.set(questionId, bubble);
    $('messages').append(bubble);
  }
  return bubble;
}

function onDelta({ replyTo, attempt, text }) {
  const bubble = answerBubble(replyTo);
  if (bubble.dataset.state === 'done' || bubble.dataset.state === 'error') return;
  const content = bubble.querySelector('.content');
  if (bubble.dataset.attempt && bubble.dataset.attempt !== String(attempt)) content.textContent = ''; // a retry starts over
  bubble.dataset.attempt = String(attempt);
  bubble.dataset.state = 'streaming';
  bubble.dataset.deltas = String(Number(bubble.dataset.deltas) + 1);
  bubble.querySelector('.note').textContent = '';
  content.append(text);
}

function onNote({ replyTo, stage, message, willRetry }) {
  const bubble = answerBubble(replyTo);
  if (bubble.dataset.state === 'done' || bubble.dataset.state === 'error') return;
  bubble.querySelector('.note').textContent = stage ? `${stage}…` : `attempt failed: ${message}${willRetry ? '; retrying' : ''}`;
}

async function ask(event) {
  event.preventDefault();
  const content = $('question').value.trim();
  if (!content) return;
  try {
    if (!state.sessionId) await newSession();
    const accepted = await api(
      'POST',
      scoped(`/chat/sessions/${encodeURIComponent(state.sessionId)}/messages`),
      { content },
      { 'Idempotency-Key': randomKey() },
    );
    $('question').value = '';
    Object.assign($('ask-status'), { className: 'status-line', textContent: '' });
    renderMessage(accepted.message);
  } catch (err) {
    showProblem(err, $('ask-status'));
  }
}

// --- the event stream and its fallback --------------------------------------------------------
function openStream() {
  if (!state.sessionId) return;
  const source = new EventSource(
    scoped(
      `/chat/sessions/${encodeURIComponent(state.sessionId)}/events?after=${state.lastId}${state.key ? `&access_token=${encodeURIComponent(state.key)}` : ''}`,
    ),
  );
  state.source?.close();
  state.source = source;
  if (!state.pollTimer) setConnection('connecting', 'connecting…');
  source.onopen = () => {
    clearTimeout(state.giveUpTimer);
    state.giveUpTimer = 0;
    stopPolling();
    setConnection('live', 'live');
  };
  source.addEventListener('message', (event) => renderMessage(JSON.parse(event.data)));
  source.addEventListener('delta', (event) => onDelta(JSON.parse(event.data)));
  source.addEventListener('progress', (event) => onNote(JSON.parse(event.data)));
  source.addEventListener('error', (event) => {
    if (source !== state.source) return;
    if (event.data) return onNote(JSON.parse(event.data)); // the server's `error` event: an attempt failed
    if (state.pollTimer) return closeStream(); // a retry from polling failed: the next one in STREAM_RETRY_MS
    if (source.readyState === EventSource.CLOSED) return fallBackToPolling('the stream was refused');
    setConnection('reconnecting', 'reconnecting…'); // EventSource retries with Last-Event-ID
    if (!state.giveUpTimer) state.giveUpTimer = setTimeout(() => fallBackToPolling('the stream keeps failing'), STREAM_GIVE_UP_MS);
  });
}

function closeStream() {
  state.source?.close();
  state.source = null;
  clearTimeout(state.giveUpTimer);
  state.giveUpTimer = 0;
}

function fallBackToPolling(reason) {
  closeStream();
  if (state.pollTimer) return;
  setConnection('polling', `polling every ${POLL_MS / 1000} s (${reason})`);
  const poll = async () => {
    const isOk = await pollOnce().then(
      () => true,
      () => false,
    );
    if (!state.pollTimer) return; // the stream came back meanwhile
    setConnection('polling', isOk ? `polling every ${POLL_MS / 1000} s (${reason})` : 'polling: the service does not answer');
    state.pollTimer = setTimeout(poll, POLL_MS);
  };
  state.pollTimer = setTimeout(poll, 0);
  state.retryTimer = setInterval(() => {
    if (!state.source) openStream();
  }, STREAM_RETRY_MS);
}

function stopPolling() {
  clearTimeout(state.pollTimer);
  clearInterval(state.retryTimer);
  state.pollTimer = 0;
  state.retryTimer = 0;
}

async function pollOnce() {
  const id = state.sessionId;
  for (let hasMore = true; hasMore && id === state.sessionId;) {
    const page = await api('GET', scoped(`/chat/sessions/${encodeURIComponent(id)}/messages?after=${state.lastId}`));
    page.messages.forEach(renderMessage);
    hasMore = page.hasMore;
  }
}

// --- the key ----------------------------------------------------------------------------------
/** A refused key shows in the connection badge; anything else on `line` (or the badge when none). */
function showProblem(err, line) {
  if (err instanceof ApiError && err.status === 401) return setConnection('error', 'the API key was refused: enter a valid one');
  if (!line) return setConnection('error', err.message);
  line.className = 'status-line error';
  line.textContent = err.message;
}

async function useKey(event) {
  event?.preventDefault();
  state.key = $('api-key').value.trim();
  sessionStorage.removeItem(KEY_STORAGE);
  localStorage.removeItem(KEY_STORAGE);
  if (state.key) ($('remember-key').checked ? localStorage : sessionStorage).setItem(KEY_STORAGE, state.key);
  await showCollections(state.sessionId);
}

/** The collections, then the one picked (the last one picked on this device, or default). */
async function showCollections(sessionId = '') {
  await refreshCollections();
  await chooseCollection(state.collection, sessionId).catch(showProblem);
}

$('api-key').value = state.key;
$('remember-key').checked = localStorage.getItem(KEY_STORAGE) !== null;
$('key-form').addEventListener('submit', useKey);
$('upload-form').addEventListener('submit', onUpload);
$('refresh-documents').addEventListener('click', refreshDocuments);
$('collection-select').addEventListener('change', (event) => chooseCollection(event.target.value).catch(showProblem));
$('new-session').addEventListener('click', () => newSession().catch(showProblem));
$('delete-session').addEventListener('click', () => deleteSession().catch((err) => showProblem(err, $('ask-status'))));
$('session-select').addEventListener('change', (event) => openSession(event.target.value).catch(showProblem));
$('ask-form').addEventListener('submit', ask);
$('question').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey) ask(event);
});
localStorage.removeItem(LEGACY_SESSIONS_STORAGE);
showCollections();
