// The console: sign in with a key kept in session storage, then the sections of the key's role.
import { api, el, KEY_STORAGE, problemView, show } from './ui.js';
import { adminViews } from './admin.js';
import { operatorViews } from './operator.js';
import { authorViews } from './author.js';

const $ = (id) => document.getElementById(id);
const VIEWS = { admin: adminViews, operator: operatorViews, author: authorViews };

function setState(state) {
  document.body.dataset.state = state;
}

/** Shows one section; the body's data-view and data-state tell tests and readers when it is drawn. */
async function open(views, id, me) {
  const view = views.find((v) => v.id === id) ?? views[0];
  for (const button of $('tabs').querySelectorAll('button')) {
    if (button.dataset.view === view.id) button.setAttribute('aria-current', 'page');
    else button.removeAttribute('aria-current');
  }
  document.body.dataset.view = view.id;
  setState('busy');
  const container = show($('view'), el('section', { class: 'view', id: `view-${view.id}` }));
  try {
    await view.render(container.firstChild, { me });
  } catch (error) {
    show($('error'), `Could not draw ${view.title}: ${error instanceof Error ? error.message : String(error)}`).hidden = false;
  }
  setState('ready');
}

async function start() {
  $('error').hidden = true;
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (!key) return signIn();
  setState('busy');
  const me = await api('GET', '/v1/me');
  if (!me.ok) {
    sessionStorage.removeItem(KEY_STORAGE);
    signIn(me);
    return;
  }
  const views = VIEWS[me.body.role] ?? [];
  document.body.dataset.role = me.body.role;
  $('signin').hidden = true;
  show($('who'), `Signed in as ${me.body.name} (${me.body.role})`).hidden = false;
  $('sign-out').hidden = false;
  show(
    $('tabs'),
    views.map((v) => el('button', { type: 'button', 'data-view': v.id, onclick: () => open(views, v.id, me.body) }, v.title)),
  ).hidden = false;
  await open(views, views[0]?.id, me.body);
}

function signIn(refusal) {
  document.body.dataset.role = '';
  $('signin').hidden = false;
  $('tabs').hidden = true;
  $('who').hidden = true;
  $('sign-out').hidden = true;
  show($('view'));
  show($('status'), refusal ? '' : 'Sign in with an API key.');
  if (refusal) show($('error'), problemView(refusal)).hidden = false;
  setState('signin');
  $('key').focus();
}

$('signin').addEventListener('submit', (event) => {
  event.preventDefault();
  const key = $('key').value.trim();
  if (!key) return;
  sessionStorage.setItem(KEY_STORAGE, key);
  $('key').value = '';
  show($('status'));
  void start();
});
$('sign-out').addEventListener('click', () => {
  sessionStorage.removeItem(KEY_STORAGE);
  signIn();
});

void start();
