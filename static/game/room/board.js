// @ts-check
/*
 * The room's board: drawn from the latest state, played with clicks, or with
 * the arrow keys over a roving tabindex; a hint under it says why a click
 * plays nothing. Sending the move is main.js's.
 */
import { element, sizeBoard } from '../dom.js';
import { cellLabel } from '../words.js';
import { ERROR_SHOW_MS, announce, isFinished, isMyTurn, playerName, ui, view } from './page.js';

/** @typedef {import('./state.js').Mark} Mark */
/** @typedef {import('./state.js').State} State */

/** @param {number} size */
function buildBoard(size) {
  const cells = [];
  for (let index = 0; index < size * size; index += 1) {
    const cell = element('button', 'cell');
    cell.type = 'button';
    cell.dataset.cell = String(index);
    cell.tabIndex = -1;
    cells.push(cell);
  }
  sizeBoard(ui.board, size);
  ui.board.replaceChildren(...cells);
  view.cells = cells;
  view.boardSize = size;
  setRovingCell(Math.floor((size * size) / 2), false);
}

/** @param {number} index */
function canPlay(index) {
  const state = view.state;
  return state !== null && !view.moveSent && isMyTurn(state) && !state.game.board[index];
}

/** @param {State} state */
export function renderBoard(state) {
  const game = state.game;
  const size = state.room.size;
  if (view.boardSize !== size) buildBoard(size);
  const winning = new Set(game.line || []);
  const last = game.last_move ? game.last_move.cell : null;
  const myTurn = isMyTurn(state) && !view.moveSent;

  ui.board.setAttribute('aria-label',
    'Board, ' + size + ' by ' + size + ', ' + state.room.win_length + ' in a row to win');
  ui.board.classList.toggle('is-my-turn', myTurn);
  ui.board.dataset.you = view.mark || '';

  view.cells.forEach((cell, index) => {
    const mark = game.board[index] || '';
    if (cell.textContent !== mark) cell.textContent = mark;
    cell.dataset.mark = mark;
    cell.classList.toggle('is-last', index === last);
    cell.classList.toggle('is-win', winning.has(index));
    // aria-disabled, not disabled: the cell must stay focusable for arrow keys.
    cell.setAttribute('aria-disabled', String(!(myTurn && !mark)));
    cell.setAttribute('aria-label', cellLabel(index, size, mark, index === last, winning.has(index)));
  });
}

/**
 * @param {number} index
 * @param {boolean} moveFocus
 */
function setRovingCell(index, moveFocus) {
  const previous = view.cells[view.focusIndex];
  if (previous) previous.tabIndex = -1;
  view.focusIndex = index;
  const cell = view.cells[index];
  if (!cell) return;
  cell.tabIndex = 0;
  if (moveFocus) cell.focus();
}

/**
 * The cell an arrow/Home/End key leads to from `index`, or null for other keys.
 * @param {string} key
 * @param {number} index
 * @param {number} size
 * @param {boolean} withCtrl
 * @returns {number | null}
 */
function cellAfterKey(key, index, size, withCtrl) {
  const row = Math.floor(index / size);
  const col = index % size;
  switch (key) {
    case 'ArrowUp': return row > 0 ? index - size : index;
    case 'ArrowDown': return row < size - 1 ? index + size : index;
    case 'ArrowLeft': return col > 0 ? index - 1 : index;
    case 'ArrowRight': return col < size - 1 ? index + 1 : index;
    case 'Home': return withCtrl ? 0 : index - col;
    case 'End': return withCtrl ? size * size - 1 : index - col + size - 1;
    default: return null;
  }
}

/**
 * The board cell an event happened in, or null.
 * @param {Event} event
 * @returns {HTMLElement | null}
 */
function cellOf(event) {
  const target = event.target;
  const cell = target instanceof Element ? target.closest('[data-cell]') : null;
  return cell instanceof HTMLElement ? cell : null;
}

/** @param {KeyboardEvent} event */
export function onBoardKeydown(event) {
  const cell = cellOf(event);
  if (!cell) return;
  const next = cellAfterKey(event.key, Number(cell.dataset.cell), view.boardSize, event.ctrlKey);
  if (next === null) return; // Enter and Space reach the button's own click
  event.preventDefault();
  setRovingCell(next, true);
}

/**
 * The cell a click on the board asks to play, when it may be played now; else
 * null, and the hint under the board says why. The cell takes the roving
 * tabindex either way.
 * @param {MouseEvent} event
 * @returns {number | null}
 */
export function cellToPlay(event) {
  const cell = cellOf(event);
  if (!cell) return null;
  const index = Number(cell.dataset.cell);
  setRovingCell(index, false);
  const state = view.state;
  if (!state) return null;
  if (!canPlay(index)) {
    showBoardHint(whyNotPlayable(state, index));
    return null;
  }
  return index;
}

/**
 * Why a click on cell `index` plays nothing: "It is bob's turn", "Waiting for an opponent"…
 * '' when a move is already on its way or the link is down (the status line says so).
 * @param {State} state
 * @param {number} index
 */
function whyNotPlayable(state, index) {
  const game = state.game;
  if (view.moveSent || view.link !== 'open') return '';
  if (isFinished(game.status)) return 'This game is over';
  if (game.status === 'waiting') {
    if (view.mark) return 'Waiting for an opponent';
    return ui.joinForm.hidden ? 'You are watching' : 'Take a seat to play';
  }
  if (!view.mark) return 'You are watching: ' + playerName(state, /** @type {Mark} */ (game.turn)) + ' to move';
  if (game.turn !== view.mark) return 'It is ' + playerName(state, /** @type {Mark} */ (game.turn)) + '’s turn';
  if (game.board[index]) return 'That cell is taken';
  return '';
}

let hintTimer = 0;
/**
 * A short line under the board, seen and heard, that fades by itself.
 * @param {string} text
 */
function showBoardHint(text) {
  if (!text) return;
  ui.boardHint.textContent = text;
  ui.boardHint.hidden = false;
  announce(text);
  window.clearTimeout(hintTimer);
  hintTimer = window.setTimeout(hideBoardHint, ERROR_SHOW_MS);
}

export function hideBoardHint() {
  window.clearTimeout(hintTimer);
  ui.boardHint.hidden = true;
}

/** @param {FocusEvent} event */
export function onBoardFocusin(event) {
  const cell = cellOf(event);
  if (cell) setRovingCell(Number(cell.dataset.cell), false);
}
