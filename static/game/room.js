// @ts-check
/*
 * tictac room page.
 *
 * The server is the only judge of the game: this script draws whatever the
 * latest `state` message says and sends the player's intentions (join, move,
 * chat, resign, rematch, claim, offers). It never changes the board on its
 * own, so a reconnect or a missed message is cured by simply drawing the next
 * state. Clocks and the absent-player countdown tick locally between states,
 * from the server's own timestamps corrected for this machine's clock. The
 * socket itself (reconnects, backoff, pings, giving up) is socket.js's;
 * the sounds are sound.js's.
 *
 * All text that comes from people (names, chat) goes through textContent.
 */
import { CONNECTION_EVENT, FINAL_CLOSES, LiveSocket, readJson } from './socket.js';
import { Sounds } from './sound.js';
import { ratingChangeWords, ratingWords, timeControlWords } from './words.js';

/** @typedef {'X' | 'O'} Mark */
/**
 * @typedef {object} Player
 * @property {string} name
 * @property {boolean} online
 * @property {string | null} [computer]
 * @property {import('./words.js').Rating | null} [rating] null for a visitor who is not signed in
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
 *   time_control?: import('./words.js').TimeControl | null, rated?: boolean, pool?: string,
 *   idle_seconds?: number}} room
 * @property {Game} game
 * @property {Record<Mark, Player | null>} players
 * @property {number} spectators
 * @property {{X: number, O: number, draws: number}} [series]
 * @property {{mark: Mark | null} | null} [you]
 */
/** @typedef {{type: 'move', cell: number, id: string}} MoveMessage */
/** @typedef {{type: 'chat', name?: string, mark?: Mark | null, text?: string, at?: string}} ChatMessage */

const ERROR_SHOW_MS = 4500;
const COPIED_SHOW_MS = 2000;
const TICK_MS = 100;
const LOW_TIME_MS = 10000;
const LOW_BUDGET_SHARE = 0.2;
const CHAT_KEEP = 200;
const NAME_KEY = 'tictac.name';
/** @type {Mark[]} */
const MARKS = ['X', 'O'];
const FINISHED = ['won', 'draw', 'resigned', 'timeout', 'abandoned', 'aborted'];
// Statuses in which `winner` names a player who won.
const WON = ['won', 'resigned', 'timeout', 'abandoned'];
const ROOM_CLOSED = 4410;
// Where "New opponent" goes when the state names no pool for this room.
const FALLBACK_POOL = '3x3-move:15';

// Friendlier wording for errors a person can hit by normal use.
/** @type {Record<string, string>} */
const FRIENDLY_ERRORS = {
  room_full: 'Both seats are taken. You can still watch and chat.',
  no_session: 'Your session is missing. Reload the page to join.',
  rate_limited: 'Slow down a little: too many messages at once.',
  not_absent: 'Your opponent is back, so there is nothing to claim.',
  too_early: 'Not yet: wait until the countdown ends.',
  no_offer: 'That offer is no longer open.',
  offer_pending: 'An offer is already waiting for an answer.',
  nothing_to_take_back: 'There is no move of yours to take back.',
  unavailable: 'The server is busy for a moment. Try again.',
};

/**
 * The page's element with this id, checked to be of `type`.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{new (): T, prototype: T}} type
 * @returns {T}
 */
function byId(id, type) {
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
function inside(parent, selector) {
  const node = parent.querySelector(selector);
  if (!(node instanceof HTMLElement)) throw new Error('no ' + selector + ' in #' + parent.id);
  return node;
}

const ui = {
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
const view = {
  /** @type {State | null} the latest accepted `state` message */
  state: null,
  /** @type {Mark | null} this socket's seat, or null for a spectator */
  mark: null,
  live: false, // true once a state arrived over the socket (so `mark` is known)
  /** @type {import('./socket.js').Link} */
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

/* The server's clock as seen from here: server time ≈ Date.now() + skew. */
const serverClock = { skew: 0 };

// ---------------------------------------------------------------- helpers

/**
 * @param {Mark} mark
 * @returns {Mark}
 */
function otherMark(mark) {
  return mark === 'X' ? 'O' : 'X';
}

/** @param {string} status */
function isFinished(status) {
  return FINISHED.includes(status);
}

/**
 * 1-based row and column of a row-major cell index.
 * @param {number} index
 * @param {number} size
 */
function rowCol(index, size) {
  return { row: Math.floor(index / size) + 1, col: (index % size) + 1 };
}

/**
 * @param {number} index
 * @param {number} size
 */
function cellWords(index, size) {
  const { row, col } = rowCol(index, size);
  return 'row ' + row + ', column ' + col;
}

/**
 * A new element with a class and text.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * @param {State} state
 * @param {Mark} mark
 * @returns {string}
 */
function playerName(state, mark) {
  const player = state.players && state.players[mark];
  return player && player.name ? String(player.name) : mark;
}

/** @param {State} state */
function bothSeated(state) {
  return Boolean(state.players && state.players.X && state.players.O);
}

/** @param {string} text */
function announce(text) {
  if (!text) return;
  // Clearing first makes screen readers repeat identical consecutive text.
  ui.announcer.textContent = '';
  window.setTimeout(() => { ui.announcer.textContent = text; }, 50);
}

function rememberedName() {
  try { return window.localStorage.getItem(NAME_KEY) || ''; } catch (_) { return ''; }
}

/** @param {string} name */
function rememberName(name) {
  try { window.localStorage.setItem(NAME_KEY, name); } catch (_) { /* private mode: not remembered */ }
}

/** A fresh move id: a page-wide counter plus randomness, so two tabs never share one. */
const moveIds = { counter: 0, prefix: Math.random().toString(36).slice(2, 10) };
function nextMoveId() {
  moveIds.counter += 1;
  return 'm-' + moveIds.prefix + '-' + moveIds.counter;
}

// ---------------------------------------------------------------- time

function serverNow() {
  return Date.now() + serverClock.skew;
}

/**
 * Learn the server's clock from a state: `clock.now` is when the server made it.
 * @param {State} state
 */
function noteServerTime(state) {
  const clock = state.game.clock;
  if (clock && typeof clock.now === 'number') {
    serverClock.skew = clock.now - Date.now();
    return;
  }
  // Without a clock the last known skew (0 at first, trusting this machine's
  // clock) stays, unless it is plainly wrong: nobody left in the server's future.
  const absent = state.game.absent || {};
  for (const mark of MARKS) {
    const since = absent[mark] && absent[mark].since;
    if (typeof since === 'number' && since > serverNow()) serverClock.skew = since - Date.now();
  }
}

/**
 * "1:05", "0:09.4" (tenths under 10 s): a chess clock.
 * @param {number} ms
 */
function formatClock(ms) {
  const left = Math.max(0, ms);
  if (left < LOW_TIME_MS) {
    const tenths = Math.floor(left / 100);
    return '0:0' + Math.floor(tenths / 10) + '.' + (tenths % 10);
  }
  const seconds = Math.floor(left / 1000);
  return Math.floor(seconds / 60) + ':' + String(seconds % 60).padStart(2, '0');
}

/**
 * "0:30": a countdown, rounded up so it reads 0:00 only when it is over.
 * @param {number} ms
 */
function formatCountdown(ms) {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  return Math.floor(seconds / 60) + ':' + String(seconds % 60).padStart(2, '0');
}

/**
 * A player's time left now, in ms: the running one counts down to its deadline.
 * @param {Clock} clock
 * @param {Mark} mark
 */
function clockLeft(clock, mark) {
  if (clock.running === mark && typeof clock.deadline === 'number') return clock.deadline - serverNow();
  return typeof clock[mark] === 'number' ? clock[mark] : 0;
}

/**
 * @param {State} state
 * @param {number} ms
 */
function isLowTime(state, ms) {
  if (ms < LOW_TIME_MS) return true;
  const control = state.room.time_control;
  return Boolean(control && control.kind === 'budget' && ms < control.seconds * 1000 * LOW_BUDGET_SHARE);
}

/**
 * The opponent's absence as the page sees it, or null.
 * @param {State} state
 * @param {Mark} mark
 * @returns {{mark: Mark, claimAt: number} | null}
 */
function absenceOf(state, mark) {
  const absent = state.game.absent;
  if (state.game.status !== 'playing' || !absent || !absent[mark]) return null;
  const claimAt = absent[mark].claim_at;
  return { mark: mark, claimAt: typeof claimAt === 'number' ? claimAt : serverNow() };
}

/**
 * The player to move, idle long enough that the other may claim (rooms without clocks), or null.
 * @param {State} state
 * @returns {{mark: Mark, claimAt: number} | null}
 */
function idleClaim(state) {
  const idle = state.game.idle;
  if (state.game.status !== 'playing' || !idle || typeof idle.claim_at !== 'number') return null;
  if (idle.claim_at > serverNow()) return null; // thinking for a while is no reason to tell anyone
  return { mark: idle.mark, claimAt: idle.claim_at };
}

/**
 * For a visitor with no seat: the mark of the player who sits and waits, here
 * now, for someone to take the free seat; null otherwise.
 * @param {State} state
 * @returns {Mark | null}
 */
function waitingHost(state) {
  if (!view.live || view.mark || view.link === 'final' || state.game.status !== 'waiting') return null;
  for (const mark of MARKS) {
    const player = state.players[mark];
    if (player && player.online && !state.players[otherMark(mark)]) return mark;
  }
  return null;
}

// ------------------------------------------------------------ game words

/**
 * "bob wins", "alice ran out of time — bob wins", "Draw agreed", "Game
 * aborted"; a seated player reads "You resigned — bob wins" or "alice left
 * — you win!".
 * @param {State} state
 */
function resultText(state) {
  const game = state.game;
  switch (game.status) {
    case 'draw':
      if (game.reason === 'agreed') return 'Draw agreed';
      if (game.reason === 'claimed_draw') return 'Draw claimed';
      return 'Draw';
    case 'aborted':
      return 'Game aborted';
    default:
      break;
  }
  // Every other finished status has a winner.
  const winner = /** @type {Mark} */ (game.winner);
  const loser = otherMark(winner);
  const wins = winner === view.mark ? 'you win!' : playerName(state, winner) + ' wins';
  const who = loser === view.mark ? 'You' : playerName(state, loser);
  switch (game.status) {
    case 'resigned': return who + ' resigned — ' + wins;
    case 'timeout': return who + ' ran out of time — ' + wins;
    // The server ends an idle claim as it ends an absent one; this page saw which it was.
    case 'abandoned': return who + (view.idleClaimed === game.id ? ' did not move — ' : ' left — ') + wins;
    default: return winner === view.mark ? 'You win!' : wins;
  }
}

/** The one line that always says what is happening. */
function statusText() {
  if (view.link === 'final') return view.finalReason;
  if (view.link === 'down') return 'Reconnecting…';
  const state = view.state;
  if (!state) return 'Connecting…';
  const game = state.game;
  if (isFinished(game.status)) return resultText(state);
  if (game.status === 'waiting') {
    if (view.mark) return 'Waiting for an opponent';
    const host = waitingHost(state);
    return host ? playerName(state, host) + ' is waiting for you' : 'Waiting for players';
  }
  if (view.mark && game.turn === view.mark) return 'Your move';
  return playerName(state, /** @type {Mark} */ (game.turn)) + ' to move';
}

/**
 * "New game: bob plays X now", told when a rematch swaps the marks.
 * @param {State} state
 */
function newGameText(state) {
  if (!bothSeated(state)) return '';
  if (view.mark === 'X') return 'New game: you play X now';
  const text = 'New game: ' + playerName(state, 'X') + ' plays X now';
  return view.mark === 'O' ? text + ', you play O' : text;
}

/** @param {State} state */
function offerText(state) {
  const offer = state.game.offer;
  if (!offer || state.game.status !== 'playing') return '';
  if (offer.by === view.mark) return offer.kind === 'draw' ? 'Draw offered…' : 'Take-back asked…';
  const name = playerName(state, offer.by);
  return offer.kind === 'draw' ? name + ' offers a draw' : name + ' asks to take back their last move';
}

/**
 * "bob declined your draw offer".
 * @param {State} state
 * @param {'draw' | 'takeback'} kind
 */
function declinedText(state, kind) {
  const name = view.mark ? playerName(state, otherMark(view.mark)) : 'Your opponent';
  return name + (kind === 'draw' ? ' declined your draw offer' : ' declined your take-back');
}

/**
 * "alice must make a first move within 0:27 or the game is aborted", or ''.
 * @param {State} state
 */
function firstMoveText(state) {
  const due = state.game.first_move;
  if (state.game.status !== 'playing' || !due || typeof due.deadline !== 'number') return '';
  const within = ' within ' + formatCountdown(due.deadline - serverNow()) + ' or the game is aborted';
  if (due.mark === view.mark) return 'You must make your first move' + within;
  return playerName(state, due.mark) + ' must make a first move' + within;
}

/**
 * "bob has not moved for 5 minutes: you may claim the win or a draw", as each one reads it.
 * @param {State} state
 * @param {{mark: Mark, claimAt: number}} idle
 */
function idleText(state, idle) {
  const seconds = state.room.idle_seconds;
  const minutes = typeof seconds === 'number' ? Math.round(seconds / 60) : 0;
  const name = playerName(state, idle.mark);
  let since = ' for a long time';
  if (typeof seconds === 'number' && seconds < 120) since = ' for ' + seconds + ' seconds';
  else if (minutes >= 1) since = ' for ' + minutes + ' minutes';
  if (view.mark === idle.mark) return 'You have not moved' + since + ': ' + playerName(state, otherMark(idle.mark)) + ' may claim the game';
  if (view.mark) return name + ' has not moved' + since + ': you may claim the win or a draw, or keep waiting';
  return name + ' has not moved' + since;
}

/**
 * "alice left — you can claim the win in 0:30", and what it becomes when time is up.
 * @param {State} state
 * @param {{mark: Mark, claimAt: number}} absence
 */
function absenceText(state, absence) {
  const name = playerName(state, absence.mark);
  const left = absence.claimAt - serverNow();
  const mine = view.mark === otherMark(absence.mark);
  if (state.game.moves < 2) {
    // Before both have moved the server aborts the game instead of letting anyone claim.
    return left > 0 ? name + ' left — the game is aborted in ' + formatCountdown(left) : name + ' left — aborting the game';
  }
  if (!mine) return left > 0 ? name + ' left — ' + formatCountdown(left) + ' to come back' : name + ' left';
  return left > 0
    ? name + ' left — you can claim the win in ' + formatCountdown(left)
    : name + ' left — you can claim the win, claim a draw, or keep waiting';
}

/**
 * What a screen reader should hear about the change from `before` to `after`.
 * @param {State | null} before
 * @param {State} after
 */
function describeChange(before, after) {
  if (!before) return '';
  const game = after.game;
  if (game.id !== before.game.id) {
    const swapped = newGameText(after);
    return 'Game ' + game.number + ' started.' + (swapped ? ' ' + swapped + '.' : '');
  }
  const parts = [];
  const previous = before.game;
  if (game.moves > previous.moves && game.last_move) {
    parts.push(playerName(after, game.last_move.mark) + ' played ' + cellWords(game.last_move.cell, after.room.size));
  } else if (game.moves < previous.moves && previous.last_move) {
    parts.push(playerName(after, previous.last_move.mark) + '’s last move was taken back');
  }
  if (game.status !== previous.status) {
    if (isFinished(game.status)) parts.push(resultText(after));
    else if (game.status === 'playing') parts.push('Both seats are taken. ' + playerName(after, 'X') + ' moves first');
  }
  const text = offerText(after);
  if (text && text !== offerText(before)) parts.push(text);
  else if (previous.offer && !game.offer && game.moves === previous.moves && !isFinished(game.status)) {
    if (previous.offer.by === view.mark) parts.push(declinedText(after, previous.offer.kind));
    else parts.push(previous.offer.kind === 'draw' ? 'The draw offer was declined' : 'The take-back was declined');
  }
  const due = firstMoveText(after);
  if (due && !firstMoveText(before)) parts.push(due);
  for (const mark of MARKS) {
    const was = absenceOf(before, mark);
    const now = absenceOf(after, mark);
    if (now && !was) parts.push(absenceText(after, now));
    else if (was && !now && !isFinished(game.status)) parts.push(playerName(after, mark) + ' is back');
  }
  return parts.join('. ');
}

// ------------------------------------------------------------------ board

/**
 * @param {number} index
 * @param {number} size
 * @param {string} mark
 * @param {boolean} isLast
 * @param {boolean} isWinning
 */
function cellLabel(index, size, mark, isLast, isWinning) {
  const { row, col } = rowCol(index, size);
  let label = 'Row ' + row + ', column ' + col + ', ' + (mark || 'empty');
  if (isWinning) label += ', winning line';
  if (isLast) label += ', last move';
  return label;
}

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
  ui.board.style.setProperty('--size', String(size));
  // Whole pixels, so that every grid line of a big board looks the same.
  ui.board.style.setProperty('--gap', Math.max(1, Math.min(6, Math.floor(18 / size))) + 'px');
  ui.board.replaceChildren(...cells);
  view.cells = cells;
  view.boardSize = size;
  setRovingCell(Math.floor((size * size) / 2), false);
}

/** @param {State} state */
function isMyTurn(state) {
  return view.link === 'open' && view.mark !== null &&
    state.game.status === 'playing' && state.game.turn === view.mark;
}

/** @param {number} index */
function canPlay(index) {
  const state = view.state;
  return state !== null && !view.moveSent && isMyTurn(state) && !state.game.board[index];
}

/** @param {State} state */
function renderBoard(state) {
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
function onBoardKeydown(event) {
  const cell = cellOf(event);
  if (!cell) return;
  const next = cellAfterKey(event.key, Number(cell.dataset.cell), view.boardSize, event.ctrlKey);
  if (next === null) return; // Enter and Space reach the button's own click
  event.preventDefault();
  setRovingCell(next, true);
}

/** @param {MouseEvent} event */
function onBoardClick(event) {
  const cell = cellOf(event);
  if (!cell) return;
  const index = Number(cell.dataset.cell);
  setRovingCell(index, false);
  const state = view.state;
  if (!state) return;
  if (!canPlay(index)) {
    showBoardHint(whyNotPlayable(state, index));
    return;
  }
  /** @type {MoveMessage} */
  const message = { type: 'move', cell: index, id: nextMoveId() };
  if (send(message)) {
    view.moveSent = true;
    view.pendingMove = { message: message, gameId: state.game.id, cell: index, resent: false };
    render();
  }
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

function hideBoardHint() {
  window.clearTimeout(hintTimer);
  ui.boardHint.hidden = true;
}

/** @param {FocusEvent} event */
function onBoardFocusin(event) {
  const cell = cellOf(event);
  if (cell) setRovingCell(Number(cell.dataset.cell), false);
}

// ------------------------------------------------------ the side panels

/** @param {State} state */
function renderSeats(state) {
  const game = state.game;
  for (const mark of MARKS) {
    const seat = ui.seats[mark];
    const player = state.players[mark];
    const toMove = view.link !== 'final' && game.status === 'playing' && game.turn === mark;
    const won = WON.includes(game.status) && game.winner === mark;
    const away = Boolean(absenceOf(state, mark));

    seat.name.textContent = player ? playerName(state, mark) : 'Free seat';
    seat.you.hidden = view.mark !== mark;
    seat.presence.textContent = player ? (away ? 'left' : (player.online ? 'online' : 'offline')) : '';
    seat.root.classList.toggle('is-empty', !player);
    seat.root.classList.toggle('is-online', Boolean(player && player.online && !away));
    seat.root.classList.toggle('is-turn', toMove);
    seat.tag.textContent = toMove ? 'to move' : (won ? 'winner' : '');
    seat.tag.hidden = !seat.tag.textContent;
    renderRating(state, mark);
  }
  const watching = state.spectators || 0;
  ui.spectators.textContent = watching === 1 ? '1 spectator' : watching + ' spectators';

  const series = state.series;
  ui.series.hidden = !(series && bothSeated(state));
  if (series && !ui.series.hidden) {
    const draws = series.draws || 0;
    ui.series.textContent = playerName(state, 'X') + ' ' + (series.X || 0) + ' – ' + (series.O || 0) + ' ' +
      playerName(state, 'O') + (draws ? ', ' + draws + (draws === 1 ? ' draw' : ' draws') : '');
  }
}

/**
 * A signed-in player's rating by their name ("1512?" while provisional),
 * linked to their profile, and what a finished rated game changed ("+12").
 * Fields the server does not send are simply not shown.
 * @param {State} state
 * @param {Mark} mark
 */
function renderRating(state, mark) {
  const seat = ui.seats[mark];
  const player = state.players[mark];
  const rating = player ? player.rating : null;
  const hasRating = Boolean(rating && typeof rating.value === 'number');
  seat.rating.hidden = !hasRating;
  const username = player && player.username;
  if (rating && hasRating) {
    seat.rating.textContent = ratingWords(rating);
    seat.rating.title = rating.provisional ? 'Provisional rating: few rated games yet' : 'Rating';
  }
  if (rating && hasRating && username) {
    seat.rating.setAttribute('href', '/players/' + encodeURIComponent(username) + '/');
    seat.rating.setAttribute('aria-label', 'rating ' + Math.round(rating.value) +
      (rating.provisional ? ', provisional' : '') + ': ' + username + '’s profile');
  } else {
    // Without an address it is no link, and a label on plain text is not read: the title says it.
    seat.rating.removeAttribute('href');
    seat.rating.removeAttribute('aria-label');
  }

  const change = rating && isFinished(state.game.status) && state.room.rated ? rating.change : null;
  const hasChange = typeof change === 'number';
  seat.change.hidden = !hasChange;
  seat.change.textContent = hasChange ? ratingChangeWords(change) : '';
  seat.change.classList.toggle('is-up', hasChange && change > 0);
  seat.change.classList.toggle('is-down', hasChange && change < 0);
}

/**
 * Both clocks by their seats; only the running one changes between states.
 * @param {State} state
 */
function renderClocks(state) {
  const clock = state.game.clock;
  for (const mark of MARKS) {
    const face = ui.seats[mark].clock;
    face.hidden = !clock;
    if (!clock) continue;
    const left = clockLeft(clock, mark);
    const running = clock.running === mark && state.game.status === 'playing';
    face.textContent = formatClock(left);
    face.classList.toggle('is-running', running);
    face.classList.toggle('is-low', isLowTime(state, left) && (running || left <= 0));
    face.setAttribute('aria-label', playerName(state, mark) + '’s clock: ' + formatClock(left));
    if (running && mark === view.mark && left < LOW_TIME_MS && left > 0) {
      const turn = state.game.id + ':' + state.game.version + ':' + state.game.moves;
      if (view.lowTimeWarned !== turn) {
        view.lowTimeWarned = turn;
        announce('Less than ten seconds left');
      }
    }
  }
}

/**
 * An absent opponent (a countdown, then the claim buttons) or, in a room
 * without clocks, one who has not moved for long (the same claim buttons).
 * @param {State} state
 */
function renderAbsent(state) {
  const absence = view.mark ? absenceOf(state, otherMark(view.mark)) : (absenceOf(state, 'X') || absenceOf(state, 'O'));
  const idle = absence ? null : idleClaim(state);
  const shown = absence || idle;
  ui.absent.hidden = !shown;
  if (!shown) return;
  ui.absent.dataset.kind = absence ? 'absent' : 'idle';
  ui.absent.setAttribute('aria-label', absence ? 'Absent player' : 'Idle player');
  const text = absence ? absenceText(state, absence) : idleText(state, shown);
  if (ui.absentText.textContent !== text) ui.absentText.textContent = text;
  const mayClaim = view.link === 'open' && view.mark === otherMark(shown.mark) &&
    (idle !== null || state.game.moves >= 2) && shown.claimAt <= serverNow();
  ui.claimWin.hidden = !mayClaim;
  ui.claimDraw.hidden = !mayClaim;
  // An idle claim opens with time passing, not with a new state: tell it once here.
  const idleKey = idle ? state.game.id + ':' + state.game.moves + ':' + idle.mark : '';
  if (idleKey && view.idleAnnounced !== idleKey) announce(text);
  view.idleAnnounced = idleKey;
}

/**
 * "alice must make a first move within 0:27 or the game is aborted", ticking.
 * @param {State} state
 */
function renderCountdown(state) {
  const text = firstMoveText(state);
  ui.countdown.hidden = !text || view.link === 'final';
  if (ui.countdown.textContent !== text) ui.countdown.textContent = text;
}

/** @param {State} state */
function renderOffer(state) {
  const offer = state.game.offer;
  const text = offerText(state);
  // Our own pending offer shows on its button ("Draw offered…").
  ui.offer.hidden = !text || !offer || offer.by === view.mark;
  ui.offerText.textContent = text;
  const answerable = view.link === 'open' && Boolean(view.mark) && Boolean(offer && offer.by !== view.mark);
  ui.accept.hidden = !answerable;
  ui.decline.hidden = !answerable;
}

/** @param {State} state */
function renderControls(state) {
  const game = state.game;
  const open = view.link === 'open';
  const seatFree = !state.players.X || !state.players.O;
  const playing = open && Boolean(view.mark) && game.status === 'playing';
  const offer = game.status === 'playing' ? game.offer : null;
  const theirOffer = Boolean(offer && offer.by !== view.mark);

  // Only offer a seat once the socket told us whether we already have one.
  ui.joinForm.hidden = !(view.live && open && !view.mark && seatFree);
  ui.join.textContent = waitingHost(state) ? 'Take the free seat' : 'Take a seat';
  ui.resign.hidden = !playing;

  const drawOffered = Boolean(offer && offer.by === view.mark && offer.kind === 'draw');
  ui.offerDraw.hidden = !playing || theirOffer;
  ui.offerDraw.disabled = Boolean(offer);
  ui.offerDraw.textContent = drawOffered ? 'Draw offered…' : 'Offer draw';

  // A takeback is for your own last move, while the opponent has not yet answered it.
  const takebackAsked = Boolean(offer && offer.by === view.mark && offer.kind === 'takeback');
  const lastIsMine = Boolean(game.last_move && game.last_move.mark === view.mark && game.turn !== view.mark);
  ui.takeback.hidden = !playing || theirOffer || !(lastIsMine || takebackAsked);
  ui.takeback.disabled = Boolean(offer);
  ui.takeback.textContent = takebackAsked ? 'Take-back asked…' : 'Take back';


  ui.gameNumber.textContent = ' · game ' + game.number;
  const timeControl = timeControlWords(state.room.time_control);
  ui.timeControl.textContent = timeControl ? ' · ' + timeControl : '';
  // A closed or vanished room takes no more chat.
  for (const control of ui.chatForm.elements) {
    if (control instanceof HTMLInputElement || control instanceof HTMLButtonElement) control.disabled = view.link === 'final';
  }
}

/**
 * Once a game is over: a rematch while the opponent is here ("bob left"
 * otherwise), a new opponent, the computer on this board, the lobby and this
 * game's replay. A spectator gets the last two.
 * @param {State} state
 */
function renderAfterGame(state) {
  const game = state.game;
  ui.afterGame.hidden = !(view.live && isFinished(game.status));
  if (ui.afterGame.hidden) return;
  ui.replayLink.href = '/games/' + game.id + '/';

  const mark = view.mark;
  const opponent = mark ? state.players[otherMark(mark)] : null;
  const asked = game.rematch || [];
  ui.rematch.hidden = !(view.link === 'open' && mark && opponent && opponent.online);
  ui.rematch.disabled = mark !== null && asked.includes(mark);
  ui.rematch.textContent = ui.rematch.disabled ? 'Rematch asked' : 'Rematch';
  ui.opponentLeft.hidden = !(mark && opponent && !opponent.online);
  ui.opponentLeft.textContent = mark && opponent ? playerName(state, otherMark(mark)) + ' left' : '';
  ui.rematchStatus.textContent = asked.map((asker) => playerName(state, asker) + ' wants a rematch').join(' · ');

  ui.newOpponentForm.hidden = !mark;
  ui.computerRematchForm.hidden = !mark;
  if (!mark) return;
  const name = playerName(state, mark);
  ui.newOpponentName.value = name;
  ui.computerRematchName.value = name;
  ui.newOpponentPool.value = typeof state.room.pool === 'string' && state.room.pool ? state.room.pool : FALLBACK_POOL;
}

/**
 * Seated, with the other seat free: the invite link is what matters now.
 * @param {State} state
 */
function renderInvite(state) {
  const mark = view.mark;
  const waitingForFriend = mark !== null && view.link !== 'final' && !state.players[otherMark(mark)];
  ui.inviteHero.hidden = !waitingForFriend;
  ui.invite.hidden = waitingForFriend;
}

/** @param {State} state */
function renderNotices(state) {
  ui.role.hidden = !(view.live && !view.mark) || waitingHost(state) !== null;
  const notice = view.notice;
  const showNotice = notice !== null && notice.gameId === state.game.id && state.game.moves === notice.moves &&
    !isFinished(state.game.status);
  ui.notice.hidden = !showNotice;
  ui.notice.textContent = showNotice ? notice.text : '';
}

/** "(Your move) Room · tictac", and a marked favicon while the tab is in the background. */
function renderTitle() {
  const state = view.state;
  const myTurn = state !== null && isMyTurn(state) && !view.moveSent;
  const title = (myTurn ? '(Your move) ' : '') + baseTitle;
  if (document.title !== title) document.title = title;
  if (ui.favicon) {
    const href = myTurn && document.hidden ? ui.favicon.dataset.turnHref : ui.favicon.dataset.href;
    if (href && ui.favicon.getAttribute('href') !== href) ui.favicon.setAttribute('href', href);
  }
}

/**
 * @param {number} index
 * @param {number} cell
 * @param {number} size
 */
function moveNotation(index, cell, size) {
  const { row, col } = rowCol(cell, size);
  const mark = index % 2 === 0 ? 'X' : 'O'; // X always moves first
  return (index + 1) + '. ' + mark + ' r' + row + 'c' + col;
}

/** @param {State} state */
function renderMoves(state) {
  const history = state.game.history;
  ui.movesPanel.hidden = !Array.isArray(history);
  if (!Array.isArray(history)) return;
  const key = state.game.id + ':' + history.join(',');
  if (ui.moves.dataset.shown === key) return; // unchanged: keep the scroll position
  ui.moves.dataset.shown = key;
  const items = history.map((cell, index) => {
    const item = element('li', 'move', moveNotation(index, cell, state.room.size));
    item.dataset.mark = index % 2 === 0 ? 'X' : 'O';
    return item;
  });
  if (items.length) items[items.length - 1].classList.add('is-last');
  ui.moves.replaceChildren(...items);
  ui.moves.scrollTop = ui.moves.scrollHeight;
  ui.movesEmpty.hidden = items.length > 0;
}

function render() {
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

// --------------------------------------------------------------- ticking

let tickTimer = 0;

/**
 * Tick while a clock runs or a countdown is on; stop otherwise.
 * @param {State} state
 */
function updateTicker(state) {
  const clock = state.game.clock;
  const needed = state.game.status === 'playing' && view.link !== 'final' &&
    (Boolean(clock && clock.running) || Object.keys(state.game.absent || {}).length > 0 ||
      Boolean(state.game.first_move) || Boolean(state.game.idle));
  if (needed && !tickTimer) tickTimer = window.setInterval(tick, TICK_MS);
  if (!needed && tickTimer) {
    window.clearInterval(tickTimer);
    tickTimer = 0;
  }
}

function tick() {
  const state = view.state;
  if (!state) return;
  renderClocks(state);
  renderAbsent(state);
  renderCountdown(state);
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
function acceptState(next, fromSocket) {
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
  if (next.room.open === false) socket.stop(FINAL_CLOSES[ROOM_CLOSED]);
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
 * @returns {import('./sound.js').SoundName | null}
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
function resendUnansweredMove(state) {
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

/** @param {string | undefined} iso */
function chatTime(iso) {
  if (!iso) return '';
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return '';
  return at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** @param {ChatMessage} message */
function appendChat(message) {
  if (!message || typeof message !== 'object') return;
  const log = ui.chatLog;
  const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;

  const item = element('li', 'chat-line');
  const time = element('time', 'chat-time', chatTime(message.at));
  if (message.at) time.dateTime = message.at;
  const mark = element('span', 'chat-mark', message.mark || 'watching');
  if (message.mark) mark.dataset.mark = message.mark;
  item.append(
    time,
    element('span', 'chat-name', String(message.name || 'Someone')),
    mark,
    element('span', 'chat-text', String(message.text || '')),
  );
  log.append(item);
  while (log.children.length > CHAT_KEEP && log.firstElementChild) log.firstElementChild.remove();
  if (nearBottom) log.scrollTop = log.scrollHeight;
}

let errorTimer = 0;
/** @param {string} text */
function showError(text) {
  ui.error.textContent = text;
  ui.error.classList.add('is-visible');
  window.clearTimeout(errorTimer);
  // The text stays in the element after it fades, for whoever wants to read it.
  errorTimer = window.setTimeout(() => ui.error.classList.remove('is-visible'), ERROR_SHOW_MS);
}

/**
 * One message from the server; `fresh` marks the first state after each (re)connect.
 * @param {import('./socket.js').ServerMessage} message
 * @param {boolean} fresh
 */
function handleMessage(message, fresh) {
  switch (message.type) {
    case 'state':
      acceptState(/** @type {State} */ (message), true);
      if (fresh) resendUnansweredMove(/** @type {State} */ (message));
      break;
    case 'chat':
      appendChat(/** @type {ChatMessage} */ (message));
      break;
    case 'error':
      // Errors name no message; one that comes while a move is out answers it.
      view.moveSent = false;
      view.pendingMove = null;
      showError(FRIENDLY_ERRORS[message.code] || message.message || 'Something went wrong.');
      render();
      break;
    default:
      break; // pong and anything newer than this page
  }
}

// -------------------------------------------------------------- the socket

/**
 * @param {import('./socket.js').Link} link
 * @param {string} reason
 */
function onLink(link, reason) {
  view.link = link;
  // An unanswered move stays in view.pendingMove while the socket is down, to be resent after reconnecting.
  if (link !== 'open') view.moveSent = false;
  if (link === 'final') {
    view.finalReason = reason;
    view.pendingMove = null;
  }
  render();
  if (link === 'final') announce(reason);
}

const socket = new LiveSocket({
  path: ui.root.dataset.wsPath || '',
  snapshot: 'state',
  onMessage: handleMessage,
  onLink: onLink,
  limits: readJson('limits'),
  groupFrames: ['state', 'heartbeat', 'chat'],
});

// The room's messages (its heartbeat among them) stopped coming while the socket is open: say so (socket.js).
document.addEventListener(CONNECTION_EVENT, (event) => {
  const trouble = /** @type {CustomEvent<{trouble: boolean}>} */ (event).detail.trouble;
  /** @type {HTMLElement} */ (document.getElementById('connection-trouble')).hidden = !trouble;
});

/**
 * @param {object} message
 * @returns {boolean} false when not connected
 */
function send(message) {
  return socket.send(message);
}

// ----------------------------------------------------------- user actions

/** @param {object} message */
function sendOrComplain(message) {
  if (!send(message)) showError('Not connected. Trying again…');
}

/** @param {SubmitEvent} event */
function onJoin(event) {
  event.preventDefault();
  const name = ui.joinName.value.trim();
  /** @type {{type: 'join', name?: string}} */
  const message = { type: 'join' };
  if (name) {
    message.name = name;
    rememberName(name);
  }
  sendOrComplain(message);
}

/** @param {SubmitEvent} event */
function onChat(event) {
  event.preventDefault();
  const text = ui.chatInput.value.trim();
  if (!text) return;
  if (send({ type: 'chat', text: text })) ui.chatInput.value = '';
  else showError('Not connected. Your message was not sent.');
}

function onResignClick() {
  if (typeof ui.resignDialog.showModal === 'function') {
    ui.resignDialog.returnValue = '';
    ui.resignDialog.showModal();
  }
}

function onResignDialogClose() {
  if (ui.resignDialog.returnValue === 'confirm') send({ type: 'resign' });
  ui.resign.focus();
}

/**
 * @param {HTMLInputElement} input
 * @param {HTMLButtonElement} button
 */
async function copyLink(input, button) {
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
  flashCopyButton(button, copied ? 'Copied' : 'Press Ctrl+C to copy');
}

const copyTimers = new Map();
/**
 * @param {HTMLButtonElement} button
 * @param {string} text
 */
function flashCopyButton(button, text) {
  if (!button.dataset.label) button.dataset.label = button.textContent;
  button.textContent = text;
  announce(text === 'Copied' ? 'Invite link copied' : text);
  window.clearTimeout(copyTimers.get(button));
  copyTimers.set(button, window.setTimeout(() => { button.textContent = button.dataset.label || ''; }, COPIED_SHOW_MS));
}

// ------------------------------------------------------------------ start

const baseTitle = document.title;
const sounds = new Sounds(ui.soundToggle);

function start() {
  const link = location.origin + location.pathname;
  ui.inviteLink.value = link;
  ui.inviteHeroLink.value = link;
  ui.joinName.value = rememberedName();

  ui.board.addEventListener('click', onBoardClick);
  ui.board.addEventListener('keydown', onBoardKeydown);
  ui.board.addEventListener('focusin', onBoardFocusin);
  ui.joinForm.addEventListener('submit', onJoin);
  ui.chatForm.addEventListener('submit', onChat);
  ui.resign.addEventListener('click', onResignClick);
  ui.resignDialog.addEventListener('close', onResignDialogClose);
  ui.rematch.addEventListener('click', () => sendOrComplain({ type: 'rematch' }));
  ui.offerDraw.addEventListener('click', () => sendOrComplain({ type: 'offer_draw' }));
  ui.takeback.addEventListener('click', () => sendOrComplain({ type: 'takeback' }));
  ui.accept.addEventListener('click', () => sendOrComplain({ type: 'accept' }));
  ui.decline.addEventListener('click', () => sendOrComplain({ type: 'decline' }));
  ui.claimWin.addEventListener('click', () => sendOrComplain({ type: 'claim', result: 'win' }));
  ui.claimDraw.addEventListener('click', () => sendOrComplain({ type: 'claim', result: 'draw' }));
  ui.copyInvite.addEventListener('click', () => copyLink(ui.inviteLink, ui.copyInvite));
  ui.copyInviteHero.addEventListener('click', () => copyLink(ui.inviteHeroLink, ui.copyInviteHero));
  ui.addComputer.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!send({ type: 'add_computer', level: ui.computerLevel.value })) showError('Not connected. Trying again…');
  });
  document.addEventListener('visibilitychange', renderTitle);

  // The room's recent chat came with the page, oldest first.
  const chat = readJson('initial-chat');
  if (Array.isArray(chat)) chat.forEach(appendChat);

  // Draw the board the server rendered into the page before the socket is up.
  acceptState(readJson('initial-state'), false);
  render();
  socket.start();
}

start();
