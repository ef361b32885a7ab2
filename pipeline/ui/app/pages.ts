/// <reference lib="dom" />
/**
 * A project page (the config's `pages`, e.g. the Paris daily report): a partition picker and the page,
 * rendered by the server as a self-contained document, in a sandboxed frame without scripts.
 */
import { get } from './api.ts';
import { h } from './dom.ts';

export async function projectPage(root: HTMLElement, id: string, partition?: string): Promise<void> {
  const page = await get<{ id: string; title: string; partitions: string[] }>(
    `/api/pages/${encodeURIComponent(id)}`,
  );
  if (!page.partitions.length)
    return void root.replaceChildren(
      h('p', { class: 'muted' }, `${page.title}: nothing stored yet (materialize it first).`),
    );
  const current = partition && page.partitions.includes(partition) ? partition : page.partitions[0]!;
  const pick = h(
    'select',
    {
      id: 'page-partition',
      'aria-label': `${page.title}: partition`,
      onchange: () => (location.hash = `#/pages/${id}/${pick.value}`),
    },
    page.partitions.map((p) => h('option', { value: p, selected: p === current }, p)),
  );
  const src = `/pages/${encodeURIComponent(id)}/${encodeURIComponent(current)}`;
  root.replaceChildren(
    h(
      'div',
      { class: 'toolbar' },
      h('h2', {}, page.title),
      h('label', { for: 'page-partition' }, ' Partition '),
      pick,
      h('a', { href: src, target: '_blank', rel: 'noopener' }, 'open alone'),
    ),
    h('iframe', {
      id: 'page-frame',
      title: `${page.title} ${current}`,
      src,
      sandbox: '',
      class: 'page-frame',
    }),
  );
}
