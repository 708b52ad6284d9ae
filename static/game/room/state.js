// @ts-check
/*
 * A `state` message applied to the page: whether it is newer than what is
 * shown, what the change means (a notice, a sound, a resync after a gap, a
 * move to send again after a reconnect), and the whole page drawn from it.
 */
import { FINAL_CLOSES } from '../socket.js';
import { Sounds } from '../sound.js';
import { hideBoardHint, renderBoard } from './board.js';
import {
  absenceOf, idleClaim, noteServerTime, renderAbsent, renderClocks, renderCountdown, updateTicker,
} from './clock.js';
import { announce, isFinished, isMyTurn, otherMark, send, stopSocket, ui, view } from './page.js';
import {
  renderAfterGame, renderControls, renderInvite, renderMoves, renderNotices, renderOffer, renderSeats, renderTitle,
} from './panels.js';
import { declinedText, describeChange, newGameText, statusText } from './texts.js';

/** @typedef {'X' | 'O'} Mark */
/**
 * @typedef {object} Player
 * @property {string} name
 * @property {boolean} online
 * @property {string | null} [computer]
 * @property {import('../words.js').Rating | null} [rating] null for a visitor who is not signed in
 * @property {string | null} [username] the account's username, for its profile link
 */
/** @typedef {{since: number, claim_at: number}} Absence */
/**
 * @typedef {object} Clock
 * @property {number} X
 * @property {number} O
 * @property {Mark | null} running
 * @property {number} [since]
 * @property {number | null} [deadline]
 * @property {number} [now]
 */
/**
 * @typedef {object} Game
 * @property {number} id
 * @property {number} number
 * @property {string[]} board
 * @property {Mark | null} turn
 * @property {string} status
 * @property {Mark | null} winner
 * @property {number[] | null} line
 * @property {number} moves
 * @property {{cell: number, mark: Mark} | null} last_move
 * @property {number} [version]
 * @property {string | null} [reason]
 * @property {number[]} [history]
 * @property {Mark[]} [rematch]
 * @property {Clock | null} [clock]
 * @property {Partial<Record<Mark, Absence>>} [absent]
 * @property {{kind: 'draw' | 'takeback', by: Mark} | null} [offer]
 * @property {{mark: Mark, deadline: number} | null} [first_move] a player who still owes their first move
 * @property {{mark: Mark, claim_at: number} | null} [idle] the player to move, in a room without clocks
 */
/**
 * A `state` message (docs/protocol.md).
 * @typedef {object} State
 * @property {string} [type] 'state'
 * @property {{code: string, name: string, size: number, win_length: number, open?: boolean,
 *   time_control?: import('../words.js').TimeControl | null, rated?: boolean, pool?: string,
 *   idle_seconds?: number}} room
 * @property {Game} game
 * @property {Record<Mark, Player | null>} players
 * @property {number} spectators
 * @property {{X: number, O: number, draws: number}} [series]
 * @property {{mark: Mark | null} | null} [you]
 */
/** @typedef {{type: 'move', cell: number, id: string}} MoveMessage */
/** @typedef {{type: 'chat', name?: string, mark?: Mark | null, text?: string, at?: string}} ChatMessage */

const ROOM_CLOSED = 4410;

const sounds = new Sounds(ui.soundToggle);

export function render() {
  ui.status.textContent = statusText();
  ui.root.dataset.link = view.link;
  const state = view.state;
  renderTitle();
  if (!state) return;
  renderBoard(state);
  renderSeats(state);
  renderClocks(state);
  renderAbsent(state);
  renderOffer(state);
  renderCountdown(state);
  renderControls(state);
  renderAfterGame(state);
  renderInvite(state);
  renderNotices(state);
  renderMoves(state);
  updateTicker(state);
}

// ------------------------------------------------------- incoming messages

/**
 * True when `next` shows an earlier moment than what is on screen.
 * @param {State} next
 */
function isOlderThanShown(next) {
  const shown = view.state;
  if (!shown) return false;
  if (next.game.number !== shown.game.number) return next.game.number < shown.game.number;
  if (typeof next.game.version === 'number' && typeof shown.game.version === 'number') {
    return next.game.version < shown.game.version;
  }
  return next.game.moves < shown.game.moves;
}

/**
 * True when updates between `before` and `next` (same game) went missing on the way.
 * @param {State} before
 * @param {State} next
 */
function missedUpdates(before, next) {
  if (typeof next.game.version === 'number' && typeof before.game.version === 'number') {
    return next.game.version > before.game.version + 1;
  }
  return next.game.moves > before.game.moves + 1;
}

/**
 * @param {State | null} next
 * @param {boolean} fromSocket
 */
export function acceptState(next, fromSocket) {
  if (!next || !next.game || !next.room) return;
  if (fromSocket) {
    view.live = true;
    // The page's embedded state has no `you`; only the socket knows our seat.
    if (Object.prototype.hasOwnProperty.call(next, 'you')) view.mark = next.you ? next.you.mark || null : null;
  }
  if (isOlderThanShown(next)) {
    render(); // the board stays, but our seat may just have become known
    return;
  }

  const before = view.state;
  // A state is a full snapshot, so a gap is healed by drawing it; the sync
  // asks the server to confirm we are now up to date.
  if (before && fromSocket && next.game.id === before.game.id && missedUpdates(before, next)) {
    send({ type: 'sync' });
  }
  // Our move is answered by a state with a new move count (or by an error);
  // a presence update in between must not unlock a second click.
  const game = next.game;
  if (!before || game.id !== before.game.id || game.moves !== before.game.moves || game.status !== before.game.status) {
    view.moveSent = false;
  }
  const pending = view.pendingMove;
  if (pending && (game.id !== pending.gameId || game.board[pending.cell])) view.pendingMove = null;
  if (before && game.id !== before.game.id) {
    const text = newGameText(next);
    view.notice = text && game.number > before.game.number ? { gameId: game.id, moves: 0, text: text } : null;
  }
  const declined = before && fromSocket ? declinedOffer(before, next) : null;
  if (before && game.id === before.game.id && game.status === 'abandoned' && before.game.status === 'playing' &&
    game.winner && isIdleClaim(before, otherMark(game.winner))) {
    view.idleClaimed = game.id;
  }
  if (declined) view.notice = { gameId: game.id, moves: game.moves, text: declinedText(next, declined) };
  if (!before || game.id !== before.game.id || game.moves !== before.game.moves || game.status !== before.game.status) {
    hideBoardHint(); // "It is bob's turn" is stale once the game moved on
  }
  noteServerTime(next);
  view.state = next;
  if (next.room.open === false) stopSocket(FINAL_CLOSES[ROOM_CLOSED]);
  render();
  announce(describeChange(before, next));
  if (before && fromSocket) {
    const sound = soundOf(before, next);
    if (sound) sounds.play(sound);
  }
}

/**
 * True when `state` let the other player claim against `mark` for idling, not for being away.
 * @param {State} state
 * @param {Mark} mark
 */
function isIdleClaim(state, mark) {
  const idle = idleClaim(state);
  return idle !== null && idle.mark === mark && !absenceOf(state, mark);
}

/**
 * The kind of our own offer that the opponent declined between two states,
 * or null. The state only shows the offer gone with no move made: that is
 * a decline (an accepted draw ends the game, an accepted takeback removes a move).
 * @param {State} before
 * @param {State} next
 * @returns {'draw' | 'takeback' | null}
 */
function declinedOffer(before, next) {
  const was = before.game.offer;
  const game = next.game;
  if (!view.mark || !was || was.by !== view.mark || game.offer) return null;
  if (game.id !== before.game.id || game.moves !== before.game.moves || game.status !== 'playing') return null;
  return was.kind;
}

/**
 * Which sound a change calls for: the end of a game, a new game (or the
 * first one) starting on your turn, or a move (your turn, seen from a background tab).
 * @param {State} before
 * @param {State} next
 * @returns {import('../sound.js').SoundName | null}
 */
function soundOf(before, next) {
  const game = next.game;
  const started = game.id !== before.game.id || (before.game.status === 'waiting' && game.status === 'playing');
  if (started) return game.status === 'playing' && game.turn === view.mark && view.mark ? 'turn' : null;
  if (isFinished(game.status) && !isFinished(before.game.status)) return 'end';
  // In a background tab, the opponent's move that hands you the turn rings like it.
  if (game.moves > before.game.moves) return isMyTurn(next) && document.hidden ? 'turn' : 'move';
  return null;
}

/**
 * After a reconnect: a move that was sent but never seen on the board is
 * sent again, once, with the same id (the server plays an id only once).
 * @param {State} state
 */
export function resendUnansweredMove(state) {
  const pending = view.pendingMove;
  if (!pending) return;
  const game = state.game;
  const stillMine = game.id === pending.gameId && game.status === 'playing' && game.turn === view.mark &&
    !game.board[pending.cell];
  if (!stillMine || pending.resent) {
    view.pendingMove = null;
    return;
  }
  if (send(pending.message)) {
    pending.resent = true;
    view.moveSent = true;
    render();
  }
}
