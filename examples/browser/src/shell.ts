/**
 * The page shell every demo shares: backend selector (unavailable backends greyed with the reason), the fused-op
 * panel (which path each tfjs-ext op took, from core's dispatch counts, and the last action's timing), and errors
 * shown in the page. Pages register with {@link definePage}; tests drive them through `window.__demo`.
 */
import * as tf from '@tensorflow/tfjs';
import {BackendName, BackendStatus, dispatchCounts, initBackend, resetDispatchCounts} from '@tfjs-ext/core';
import {registerBrowserBackends} from './backends';

export const PAGE_BACKENDS: BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/** What the Chromium tests read: readiness, each page's checked results, and every error shown. */
export interface DemoState {
  backend: string;
  ready: boolean;
  errors: string[];
  result: Record<string, unknown>;
  /** Actions a page exposes to the tests (e.g. `greedy(prompt, n)`), the same code its buttons run. */
  actions: Record<string, (...args: any[]) => Promise<unknown>>;
}

export const demo: DemoState = {backend: '', ready: false, errors: [], result: {}, actions: {}};
(globalThis as any).__demo = demo;

export interface Page {
  id: string;
  title: string;
  /** Builds the page into `root` once the backend is active. */
  mount(root: HTMLElement): Promise<void>;
}

const $ = <T extends HTMLElement>(sel: string) => document.querySelector(sel) as T;

/** Creates an element with attributes and children. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {},
                                                          ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

/** Shows an error in the page (and the console) and records it for the tests. */
export function showError(e: unknown): void {
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  demo.errors.push(text);
  $('#errors').textContent = demo.errors.join('\n');
  console.error(e);
}

/** Runs a user action: clears the op panel, times it, refreshes the panel, shows any error. */
export async function action<T>(label: string, fn: () => Promise<T>): Promise<T | undefined> {
  resetDispatchCounts();
  const t0 = performance.now();
  try {
    return await fn();
  } catch (e) {
    showError(e);
    return undefined;
  } finally {
    $('#timing').textContent = `${label}: ${(performance.now() - t0).toFixed(0)} ms on ${tf.getBackend()}`;
    renderDispatch();
  }
}

/** The fused-op panel: `kernelName:backend:path` counts since the last action started. */
export function renderDispatch(): void {
  const body = $('#dispatch tbody');
  body.replaceChildren(...Object.entries(dispatchCounts()).map(([key, calls]) => {
    const [kernel, backend, path] = key.split(':');
    return el('tr', {}, el('td', {}, kernel.replace(/^TfjsExt/, '')), el('td', {class: path}, path),
              el('td', {}, backend), el('td', {}, String(calls)));
  }));
}

function selectedBackend(): BackendName {
  const fromUrl = new URLSearchParams(location.search).get('backend');
  return (PAGE_BACKENDS as string[]).includes(fromUrl ?? '') ? fromUrl as BackendName : 'webgl';
}

async function backendStatuses(): Promise<BackendStatus[]> {
  const out: BackendStatus[] = [];
  for (const b of PAGE_BACKENDS) out.push(await initBackend(b));
  return out;
}

/** Starts the app: nav, backend selector, then mounts the page named by the URL hash. */
export async function start(pages: Page[]): Promise<void> {
  window.addEventListener('error', (e) => showError(e.error ?? e.message));
  window.addEventListener('unhandledrejection', (e) => showError(e.reason));
  registerBrowserBackends(new URL('wasm/', location.href).href);
  const page = pages.find((p) => `#/${p.id}` === location.hash) ?? pages[0];
  $('#nav').replaceChildren(...pages.map((p) => el('a', {href: `${location.search}#/${p.id}`,
                                                            class: p === page ? 'active' : ''}, p.title)));
  window.addEventListener('hashchange', () => location.reload());
  document.title = `tfjs-ext: ${page.title}`;

  const wanted = selectedBackend();
  const statuses = await backendStatuses();
  const select = $<HTMLSelectElement>('#backend');
  select.replaceChildren(...statuses.map((s) => {
    const label = s.available ? `${s.name}${s.emulated ? ' (software emulation)' : ''}` :
                                `${s.name}: unavailable (${s.reason})`;
    const opt = el('option', {value: s.name, title: s.reason ?? s.device ?? ''}, label);
    opt.disabled = !s.available;
    return opt;
  }));
  select.onchange = () => {
    const params = new URLSearchParams(location.search);
    params.set('backend', select.value);
    location.search = params.toString();
  };
  const chosen = statuses.find((s) => s.name === wanted && s.available) ?? statuses.find((s) => s.available)!;
  if (chosen.name !== wanted) showError(new Error(`backend ${wanted} is unavailable here; using ${chosen.name}`));
  await initBackend(chosen.name);
  select.value = chosen.name;
  demo.backend = tf.getBackend();
  try {
    await page.mount($('#page'));
    demo.ready = true;
  } catch (e) {
    showError(e);
  }
}
