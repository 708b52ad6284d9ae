// @ts-check
/*
 * Shared by the room, replay, lobby and waiting pages: their elements, copy buttons,
 * a board's grid, and the name this browser remembers.
 */

const COPIED_SHOW_MS = 2000;
// The name this browser last played under, offered again on the next page (the lobby's forms, a room's seat).
const NAME_KEY = 'tictac.name';
// What a copy button says where the browser would not copy.
export const COPY_BY_HAND = 'Press Ctrl+C to copy';

/**
 * The page's element with this id, checked to be of `type`.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{new (): T, prototype: T}} type
 * @returns {T}
 */
export function byId(id, type) {
  const node = document.getElementById(id);
  if (!(node instanceof type)) throw new Error('this page has no ' + type.name + ' #' + id);
  return node;
}

/**
 * The element in `parent` that `selector` finds.
 * @param {HTMLElement} parent
 * @param {string} selector
 * @returns {HTMLElement}
 */
export function inside(parent, selector) {
  const node = parent.querySelector(selector);
  if (!(node instanceof HTMLElement)) throw new Error('no ' + selector + ' in #' + parent.id);
  return node;
}

/**
 * A new element with a class and text.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Copy the link in `input` to the clipboard; `button` says how it went for a
 * moment, then its own label again.
 * @param {HTMLInputElement} input
 * @param {HTMLButtonElement} button
 * @returns {Promise<boolean>} whether the link was copied
 */
export async function copyLink(input, button) {
  const link = input.value;
  let copied = false;
  try {
    await navigator.clipboard.writeText(link);
    copied = true;
  } catch (_) {
    // No clipboard API (plain http) or no permission: select the text instead.
    input.focus();
    input.select();
    try { copied = document.execCommand('copy'); } catch (_) { copied = false; }
  }
  flashCopyButton(button, copied ? 'Copied' : COPY_BY_HAND);
  return copied;
}

const copyTimers = new Map();
/**
 * @param {HTMLButtonElement} button
 * @param {string} text
 */
function flashCopyButton(button, text) {
  if (!button.dataset.label) button.dataset.label = button.textContent;
  button.textContent = text;
  window.clearTimeout(copyTimers.get(button));
  copyTimers.set(button, window.setTimeout(() => { button.textContent = button.dataset.label || ''; }, COPIED_SHOW_MS));
}

/**
 * Lay `board` out as a `size` × `size` grid, its lines in whole pixels so that every one of a big
 * board looks the same (the room page and the replay draw the same board).
 * @param {HTMLElement} board
 * @param {number} size
 */
export function sizeBoard(board, size) {
  board.style.setProperty('--size', String(size));
  board.style.setProperty('--gap', Math.max(1, Math.min(6, Math.floor(18 / size))) + 'px');
}

/** The name this browser last played under; '' if none (or storage is off: private mode). */
export function rememberedName() {
  try { return window.localStorage.getItem(NAME_KEY) || ''; } catch (_) { return ''; }
}

/** @param {string} name */
export function rememberName(name) {
  try { window.localStorage.setItem(NAME_KEY, name); } catch (_) { /* private mode: not remembered */ }
}
