// @ts-check
/*
 * The room page's elements (`ui`), what it currently shows and knows
 * (`view`), its socket to send through, and the small helpers that every
 * part of the page uses.
 */
import { byId, inside } from '../dom.js';

/** @typedef {import('./state.js').Mark} Mark */
/** @typedef {import('./state.js').State} State */
/** @typedef {import('./state.js').MoveMessage} MoveMessage */

export const ERROR_SHOW_MS = 4500;
/** @type {Mark[]} */
export const MARKS = ['X', 'O'];
const FINISHED = ['won', 'draw', 'resigned', 'timeout', 'abandoned', 'aborted'];

export const ui = {
  root: byId('room', HTMLElement),
  status: byId('status', HTMLElement),
  role: byId('role', HTMLElement),
  notice: byId('notice', HTMLElement),
  board: byId('board', HTMLElement),
  error: byId('error', HTMLElement),
  announcer: byId('announcer', HTMLElement),
  gameNumber: byId('game-number', HTMLElement),
  timeControl: byId('time-control', HTMLElement),
  spectators: byId('spectators', HTMLElement),
  series: byId('series', HTMLElement),
  countdown: byId('countdown', HTMLElement),
  boardHint: byId('board-hint', HTMLElement),
  joinForm: byId('join-form', HTMLFormElement),
  joinName: byId('join-name', HTMLInputElement),
  join: byId('join', HTMLButtonElement),
  resign: byId('resign', HTMLButtonElement),
  resignDialog: byId('resign-dialog', HTMLDialogElement),
  offerDraw: byId('offer-draw', HTMLButtonElement),
  takeback: byId('takeback', HTMLButtonElement),
  rematch: byId('rematch', HTMLButtonElement),
  rematchStatus: byId('rematch-status', HTMLElement),
  afterGame: byId('after-game', HTMLElement),
  newOpponentForm: byId('new-opponent-form', HTMLFormElement),
  computerRematchForm: byId('computer-rematch-form', HTMLFormElement),
  opponentLeft: byId('opponent-left', HTMLElement),
  newOpponentPool: byId('new-opponent-pool', HTMLInputElement),
  newOpponentName: byId('new-opponent-name', HTMLInputElement),
  computerRematchName: byId('computer-rematch-name', HTMLInputElement),
  replayLink: byId('replay-link', HTMLAnchorElement),
  soundToggle: byId('sound-toggle', HTMLButtonElement),
  absent: byId('absent', HTMLElement),
  absentText: byId('absent-text', HTMLElement),
  claimWin: byId('claim-win', HTMLButtonElement),
  claimDraw: byId('claim-draw', HTMLButtonElement),
  offer: byId('offer', HTMLElement),
  offerText: byId('offer-text', HTMLElement),
  accept: byId('accept-offer', HTMLButtonElement),
  decline: byId('decline-offer', HTMLButtonElement),
  movesPanel: byId('moves-panel', HTMLElement),
  moves: byId('moves', HTMLElement),
  movesEmpty: byId('moves-empty', HTMLElement),
  chatLog: byId('chat-log', HTMLElement),
  chatForm: byId('chat-form', HTMLFormElement),
  chatInput: byId('chat-input', HTMLInputElement),
  invite: byId('invite', HTMLElement),
  inviteLink: byId('invite-link', HTMLInputElement),
  copyInvite: byId('copy-invite', HTMLButtonElement),
  inviteHero: byId('invite-hero', HTMLElement),
  addComputer: byId('add-computer', HTMLFormElement),
  computerLevel: byId('computer-level', HTMLSelectElement),
  inviteHeroLink: byId('invite-hero-link', HTMLInputElement),
  copyInviteHero: byId('copy-invite-hero', HTMLButtonElement),
  favicon: document.getElementById('favicon'),
  /** @type {Record<Mark, {root: HTMLElement, name: HTMLElement, you: HTMLElement, presence: HTMLElement,
   *   tag: HTMLElement, clock: HTMLElement, rating: HTMLElement, change: HTMLElement}>} */
  seats: Object.create(null),
};
for (const mark of MARKS) {
  const seat = byId('seat-' + mark, HTMLElement);
  ui.seats[mark] = {
    root: seat,
    name: inside(seat, '.seat-name'),
    you: inside(seat, '.seat-you'),
    presence: inside(seat, '.presence-text'),
    tag: inside(seat, '.seat-tag'),
    clock: inside(seat, '.seat-clock'),
    rating: inside(seat, '.seat-rating'),
    change: inside(seat, '.seat-change'),
  };
}

/* What the page currently shows and knows. */
export const view = {
  /** @type {State | null} the latest accepted `state` message */
  state: null,
  /** @type {Mark | null} this socket's seat, or null for a spectator */
  mark: null,
  live: false, // true once a state arrived over the socket (so `mark` is known)
  /** @type {import('../socket.js').Link} */
  link: 'connecting',
  finalReason: '',
  moveSent: false, // a move is on its way; ignore more clicks until the answer
  /** @type {{message: MoveMessage, gameId: number, cell: number, resent: boolean} | null} sent, not yet seen */
  pendingMove: null,
  /**
   * "New game: bob plays X now", "bob declined your draw offer": shown until the next move.
   * @type {{gameId: number, moves: number, text: string} | null}
   */
  notice: null,
  lowTimeWarned: '', // the turn (game id and version) whose low time was announced
  idleAnnounced: '', // the idle turn whose claim was announced
  idleClaimed: 0, // the game that ended by a claim against an idle player, as this page saw it
  /** @type {HTMLButtonElement[]} the cell buttons, by index */
  cells: [],
  boardSize: 0,
  focusIndex: 0, // the cell that holds tabindex=0 (roving tabindex)
};

/**
 * @param {Mark} mark
 * @returns {Mark}
 */
export function otherMark(mark) {
  return mark === 'X' ? 'O' : 'X';
}

/** @param {string} status */
export function isFinished(status) {
  return FINISHED.includes(status);
}

/**
 * @param {State} state
 * @param {Mark} mark
 * @returns {string}
 */
export function playerName(state, mark) {
  const player = state.players && state.players[mark];
  return player && player.name ? String(player.name) : mark;
}

/** @param {State} state */
export function bothSeated(state) {
  return Boolean(state.players && state.players.X && state.players.O);
}

/** @param {string} text */
export function announce(text) {
  if (!text) return;
  // Clearing first makes screen readers repeat identical consecutive text.
  ui.announcer.textContent = '';
  window.setTimeout(() => { ui.announcer.textContent = text; }, 50);
}

/** @param {State} state */
export function isMyTurn(state) {
  return view.link === 'open' && view.mark !== null &&
    state.game.status === 'playing' && state.game.turn === view.mark;
}

/**
 * For a visitor with no seat: the mark of the player who sits and waits, here
 * now, for someone to take the free seat; null otherwise.
 * @param {State} state
 * @returns {Mark | null}
 */
export function waitingHost(state) {
  if (!view.live || view.mark || view.link === 'final' || state.game.status !== 'waiting') return null;
  for (const mark of MARKS) {
    const player = state.players[mark];
    if (player && player.online && !state.players[otherMark(mark)]) return mark;
  }
  return null;
}

/*
 * The room's socket. main.js makes it, since it hands the socket what it hears,
 * and puts it here: the parts that send do so without importing main.js.
 */
/** @type {import('../socket.js').LiveSocket | null} */
let socket = null;

/** @param {import('../socket.js').LiveSocket} made */
export function useSocket(made) {
  socket = made;
}

/**
 * @param {object} message
 * @returns {boolean} false when not connected
 */
export function send(message) {
  return socket !== null && socket.send(message);
}

/**
 * Close the socket for good and say why.
 * @param {string} reason
 */
export function stopSocket(reason) {
  if (socket) socket.stop(reason);
}

let errorTimer = 0;
/** @param {string} text */
export function showError(text) {
  ui.error.textContent = text;
  ui.error.classList.add('is-visible');
  window.clearTimeout(errorTimer);
  // The text stays in the element after it fades, for whoever wants to read it.
  errorTimer = window.setTimeout(() => ui.error.classList.remove('is-visible'), ERROR_SHOW_MS);
}
