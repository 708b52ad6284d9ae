// @ts-check
/*
 * What the room page says about the game: the status line, results, offers,
 * and what a screen reader hears when a state changes the game.
 */
import { cellWords } from '../words.js';
import { absenceOf, absenceText, firstMoveText } from './clock.js';
import { MARKS, bothSeated, isFinished, otherMark, playerName, view, waitingHost } from './page.js';

/** @typedef {import('./state.js').Mark} Mark */
/** @typedef {import('./state.js').State} State */
/** @typedef {import('./state.js').Game} Game */

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
export function statusText() {
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
export function newGameText(state) {
  if (!bothSeated(state)) return '';
  if (view.mark === 'X') return 'New game: you play X now';
  const text = 'New game: ' + playerName(state, 'X') + ' plays X now';
  return view.mark === 'O' ? text + ', you play O' : text;
}

/** @param {State} state */
export function offerText(state) {
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
export function declinedText(state, kind) {
  const name = view.mark ? playerName(state, otherMark(view.mark)) : 'Your opponent';
  return name + (kind === 'draw' ? ' declined your draw offer' : ' declined your take-back');
}

/**
 * What a screen reader should hear about the change from `before` to `after`.
 * @param {State | null} before
 * @param {State} after
 */
export function describeChange(before, after) {
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
