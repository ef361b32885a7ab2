/// <reference lib="dom" />
/** The web app of `pipeline ui`: a hash router over the pages (graph, matrix, runs, a run, automation, project pages). */
import { get } from './api.ts';
import { automationPage } from './automation.ts';
import { h } from './dom.ts';
import { graphPage } from './graph.ts';
import { matrixPage } from './matrix.ts';
import { projectPage } from './pages.ts';
import { runPage, runsPage } from './runs.ts';

interface Session {
  version: string;
  project: string;
  mode: string;
  pages: { id: string; title: string }[];
}

const app = document.getElementById('app')!;
let cleanup: (() => void) | undefined;

async function main(): Promise<void> {
  const session = await get<Session>('/api/session');
  const nav = h(
    'nav',
    { 'aria-label': 'Pages' },
    h('strong', {}, 'CityFlow'),
    h('a', { href: '#/graph' }, 'Assets'),
    h('a', { href: '#/matrix' }, 'Partitions'),
    h('a', { href: '#/runs' }, 'Runs'),
    h('a', { href: '#/automation' }, 'Automation'),
    session.pages.map((p) => h('a', { href: `#/pages/${p.id}` }, p.title)),
    h('span', { class: 'muted mode' }, session.mode),
  );
  const content = h('main', { id: 'content' });
  app.replaceChildren(h('header', {}, nav), content);
  const route = async () => {
    cleanup?.();
    cleanup = undefined;
    const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
    for (const a of nav.querySelectorAll('a'))
      a.toggleAttribute('aria-current', location.hash.startsWith(a.getAttribute('href')!));
    content.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    try {
      if (parts[0] === 'matrix') await matrixPage(content);
      else if (parts[0] === 'runs' && parts[1]) cleanup = await runPage(content, parts[1]);
      else if (parts[0] === 'runs') cleanup = await runsPage(content);
      else if (parts[0] === 'automation') await automationPage(content);
      else if (parts[0] === 'pages' && parts[1]) await projectPage(content, parts[1], parts[2]);
      else await graphPage(content, parts[0] === 'graph' ? parts[1] : undefined);
    } catch (err) {
      content.replaceChildren(h('p', { class: 'error', role: 'alert' }, (err as Error).message));
    }
  };
  window.addEventListener('hashchange', () => void route());
  await route();
}

void main().catch((err: unknown) => app.replaceChildren(h('p', { class: 'error' }, String(err))));
