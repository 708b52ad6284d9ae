// @ts-check
/* Helpers for a page's elements. */

/**
 * The page's element with this id, checked to be of `type`.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{new (): T, prototype: T}} type
 * @returns {T}
 */
export function byId(id, type) {
  const node = document.getElementById(id);
  if (!(node instanceof type)) throw new Error('the room page has no ' + type.name + ' #' + id);
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
