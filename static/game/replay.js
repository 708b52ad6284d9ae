// @ts-check
/*
 * tictac replay page: steps through a game's moves.
 *
 * The server renders the last position, the move list and the result; this
 * script only redraws the board for the chosen position (0 = the empty
 * board, n = after the n-th move) from the move list in #replay-data. Buttons,
 * the slider, the move list and the keys Left/Right/Home/End choose it.
 * Nothing here comes from people except through textContent.
 */
import { byId, copyLink, sizeBoard } from './dom.js';
import { cellLabel, cellName } from './words.js';
import { startAnalysis } from './analysis.js';

/** What the server put in #replay-data: the board's side, the cells in play order, the winning line. */
const data = /** @type {{size: number, moves: number[], line: number[] | null}} */ (
  JSON.parse(byId('replay-data', HTMLScriptElement).textContent || '{}')
);
const size = data.size;
const moves = data.moves;
const line = new Set(data.line || []);
const board = byId('board', HTMLElement);
const cells = Array.from(board.querySelectorAll('button[data-cell]'), (cell) => /** @type {HTMLButtonElement} */ (cell));
const slider = byId('replay-slider', HTMLInputElement);
const position = byId('position', HTMLElement);
const steps = Array.from(document.querySelectorAll('button[data-step]'), (step) => /** @type {HTMLButtonElement} */ (step));
const buttons = {
  first: byId('replay-first', HTMLButtonElement),
  prev: byId('replay-prev', HTMLButtonElement),
  next: byId('replay-next', HTMLButtonElement),
  last: byId('replay-last', HTMLButtonElement),
};
let shown = moves.length;
const analysis = startAnalysis({ size, moves, cells, steps, redraw: () => show(shown) });

/** @param {number} index */
function markOf(index) {
  return index % 2 === 0 ? 'X' : 'O'; // X always moves first
}

/** @param {number} step */
function positionText(step) {
  if (moves.length === 0) return 'No moves';
  if (step === 0) return 'Start: empty board, ' + moves.length + ' moves to go';
  const index = step - 1;
  return 'Move ' + step + ' of ' + moves.length + ': ' + markOf(index) + ' ' + cellName(moves[index], size);
}

/**
 * Draw the board after `step` moves.
 * @param {number} step
 */
function show(step) {
  shown = Math.max(0, Math.min(moves.length, step));
  const marks = new Array(size * size).fill('');
  for (let index = 0; index < shown; index += 1) marks[moves[index]] = markOf(index);
  const last = shown > 0 ? moves[shown - 1] : null;
  const atEnd = shown === moves.length;
  cells.forEach((cell, index) => {
    const mark = marks[index];
    const isWinning = atEnd && line.has(index);
    if (cell.textContent !== mark) cell.textContent = mark;
    cell.dataset.mark = mark;
    cell.classList.toggle('is-last', index === last);
    cell.classList.toggle('is-win', isWinning);
    cell.setAttribute('aria-label', cellLabel(index, size, mark, index === last, isWinning));
  });
  board.dataset.position = String(shown);
  slider.value = String(shown);
  slider.setAttribute('aria-valuetext', positionText(shown));
  position.textContent = positionText(shown);
  buttons.first.disabled = buttons.prev.disabled = shown === 0;
  buttons.next.disabled = buttons.last.disabled = shown === moves.length;
  steps.forEach((button) => {
    const current = Number(button.dataset.step) === shown;
    button.classList.toggle('is-current', current);
    if (current) button.setAttribute('aria-current', 'step');
    else button.removeAttribute('aria-current');
  });
  analysis.show(shown);
}

/**
 * The position a key leads to, or null for keys the page leaves alone.
 * @param {string} key
 * @returns {number | null}
 */
function stepAfterKey(key) {
  switch (key) {
    case 'ArrowLeft': return shown - 1;
    case 'ArrowRight': return shown + 1;
    case 'Home': return 0;
    case 'End': return moves.length;
    default: return null;
  }
}

/** @param {KeyboardEvent} event */
function onKeydown(event) {
  if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return; // Alt+Left is "back"
  // The slider moves itself with these keys (and tells us through 'input'); in the link's text box
  // they move the caret. A checkbox (the values toggle) has no use for them: they step the game.
  const target = event.target;
  const ownsArrows = 'textarea, select, input:not([type="checkbox"])';
  if (target === slider || (target instanceof Element && target.closest(ownsArrows))) return;
  const next = stepAfterKey(event.key);
  if (next === null) return;
  event.preventDefault();
  show(next);
}

function start() {
  sizeBoard(board, size);
  buttons.first.addEventListener('click', () => show(0));
  buttons.prev.addEventListener('click', () => show(shown - 1));
  buttons.next.addEventListener('click', () => show(shown + 1));
  buttons.last.addEventListener('click', () => show(moves.length));
  slider.addEventListener('input', () => show(Number(slider.value)));
  steps.forEach((button) => button.addEventListener('click', () => show(Number(button.dataset.step))));
  document.addEventListener('keydown', onKeydown);
  const copy = byId('copy-share', HTMLButtonElement);
  copy.addEventListener('click', () => copyLink(byId('share-link', HTMLInputElement), copy));
  show(moves.length);
}

start();
