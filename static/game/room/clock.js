// @ts-check
/*
 * The room's clocks and countdowns: the server's time as seen from here, the
 * two players' clocks, the countdowns for an absent or idle player and for a
 * first move, and the ticker that redraws them between states.
 */
import { MARKS, announce, otherMark, playerName, ui, view } from './page.js';

/** @typedef {import('./state.js').Mark} Mark */
/** @typedef {import('./state.js').State} State */
/** @typedef {import('./state.js').Clock} Clock */

const TICK_MS = 100;
const LOW_TIME_MS = 10000;
const LOW_BUDGET_SHARE = 0.2;

/* The server's clock as seen from here: server time ≈ Date.now() + skew. */
const serverClock = { skew: 0 };

function serverNow() {
  return Date.now() + serverClock.skew;
}

/**
 * Learn the server's clock from a state: `clock.now` is when the server made it.
 * @param {State} state
 */
export function noteServerTime(state) {
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
export function absenceOf(state, mark) {
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
export function idleClaim(state) {
  const idle = state.game.idle;
  if (state.game.status !== 'playing' || !idle || typeof idle.claim_at !== 'number') return null;
  if (idle.claim_at > serverNow()) return null; // thinking for a while is no reason to tell anyone
  return { mark: idle.mark, claimAt: idle.claim_at };
}

/**
 * "alice must make a first move within 0:27 or the game is aborted", or ''.
 * @param {State} state
 */
export function firstMoveText(state) {
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
export function absenceText(state, absence) {
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
 * Both clocks by their seats; only the running one changes between states.
 * @param {State} state
 */
export function renderClocks(state) {
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
export function renderAbsent(state) {
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
export function renderCountdown(state) {
  const text = firstMoveText(state);
  ui.countdown.hidden = !text || view.link === 'final';
  if (ui.countdown.textContent !== text) ui.countdown.textContent = text;
}

// --------------------------------------------------------------- ticking

let tickTimer = 0;

/**
 * Tick while a clock runs or a countdown is on; stop otherwise.
 * @param {State} state
 */
export function updateTicker(state) {
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
