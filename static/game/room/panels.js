// @ts-check
/*
 * What a state decides beside the board: the seats and ratings, an offer,
 * the game's controls, the after-game panel, the invite, notices, the tab's
 * title and the list of moves.
 */
import { element } from '../dom.js';
import { cellName, ratingChangeWords, ratingWords, timeControlWords } from '../words.js';
import { absenceOf } from './clock.js';
import { MARKS, bothSeated, isFinished, isMyTurn, otherMark, playerName, ui, view, waitingHost } from './page.js';
import { offerText } from './texts.js';

/** @typedef {import('./state.js').Mark} Mark */
/** @typedef {import('./state.js').State} State */

// Statuses in which `winner` names a player who won.
const WON = ['won', 'resigned', 'timeout', 'abandoned'];
// Where "New opponent" goes when the state names no pool for this room.
const FALLBACK_POOL = '3x3-move:15';

const baseTitle = document.title;

/** @param {State} state */
export function renderSeats(state) {
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

/** @param {State} state */
export function renderOffer(state) {
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
export function renderControls(state) {
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
export function renderAfterGame(state) {
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
export function renderInvite(state) {
  const mark = view.mark;
  const waitingForFriend = mark !== null && view.link !== 'final' && !state.players[otherMark(mark)];
  ui.inviteHero.hidden = !waitingForFriend;
  ui.invite.hidden = waitingForFriend;
}

/** @param {State} state */
export function renderNotices(state) {
  ui.role.hidden = !(view.live && !view.mark) || waitingHost(state) !== null;
  const notice = view.notice;
  const showNotice = notice !== null && notice.gameId === state.game.id && state.game.moves === notice.moves &&
    !isFinished(state.game.status);
  ui.notice.hidden = !showNotice;
  ui.notice.textContent = showNotice ? notice.text : '';
}

/** "(Your move) Room · tictac", and a marked favicon while the tab is in the background. */
export function renderTitle() {
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
  const mark = index % 2 === 0 ? 'X' : 'O'; // X always moves first
  return (index + 1) + '. ' + mark + ' ' + cellName(cell, size);
}

/** @param {State} state */
export function renderMoves(state) {
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
