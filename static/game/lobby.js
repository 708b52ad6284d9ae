// @ts-check
/*
 * tictac lobby: draws the list of what a visitor can act on now (open
 * challenges, then games to watch), embedded in the page as #initial-rooms
 * in the server's order, and keeps it live from the /ws/lobby/ feed along
 * with the "N players online · M games in play" line; remembers the
 * player's name for quick play and the create form; keeps the create
 * form's limits consistent.
 *
 * The server renders the same rows as plain links, so the list works
 * without JavaScript; this script redraws them and is the only code that
 * changes them. Room and player names come from people, so they only ever
 * go through textContent.
 */
import { byId, element, rememberName, rememberedName } from './dom.js';
import { LiveSocket, readJson } from './socket.js';
import { ratingWords, timeControlWords } from './words.js';

/**
 * A seat's rating, when the player has an account (else null).
 * @typedef {{value: number, provisional: boolean, change?: number | null}} Rating
 */

/**
 * A room as the lobby lists it (docs/protocol.md, "Lobby feed").
 * @typedef {object} RoomSummary
 * @property {string} code
 * @property {string} name
 * @property {number} size
 * @property {number} win_length
 * @property {number} players
 * @property {number} spectators
 * @property {string} status
 * @property {boolean} open
 * @property {{X: string | null, O: string | null}} [names]
 * @property {{X: Rating | null, O: Rating | null}} [ratings]
 * @property {number} [here]
 * @property {boolean} [joinable]
 * @property {boolean} [listed]
 * @property {boolean} [rated]
 * @property {import('./words.js').TimeControl | null} [time_control]
 */

/** @type {import('./socket.js').Limits} */
const limits = readJson('limits');
// The lobby's sections, in order: a seat you can take now, then games to watch.
const CHALLENGE = 0;
const GAME = 1;

const list = byId('room-list', HTMLElement);
const emptyNote = byId('rooms-empty', HTMLElement);
const liveState = byId('lobby-live', HTMLElement);
const stopped = byId('lobby-stopped', HTMLElement);
const statsLine = byId('lobby-stats', HTMLElement);

// ------------------------------------------------------------- room rows

/**
 * Whether the room belongs in the lobby now. A server that does not say
 * lists every open room it sends.
 * @param {RoomSummary} summary
 */
function isListed(summary) {
  if (summary.open === false) return false;
  return summary.listed !== false;
}

/** @param {RoomSummary} summary */
function section(summary) {
  return summary.status === 'waiting' ? CHALLENGE : GAME;
}

/**
 * "alice (1512?) vs —": who sits where (older servers only say how many).
 * @param {RoomSummary} summary
 */
function playersWords(summary) {
  const names = summary.names;
  if (!names) return summary.players + '/2 players';
  const ratings = summary.ratings || { X: null, O: null };
  /** @param {'X' | 'O'} mark */
  const seat = (mark) => {
    const name = names[mark];
    if (!name) return '—';
    const rating = ratingWords(ratings[mark]);
    return rating ? name + ' (' + rating + ')' : name;
  };
  return seat('X') + ' vs ' + seat('O');
}

/** @param {RoomSummary} summary */
function statusWords(summary) {
  return section(summary) === CHALLENGE ? 'Join now' : 'Playing';
}

/** @param {RoomSummary} summary */
function roomRow(summary) {
  const row = document.createElement('li');
  row.className = 'room-row';
  row.dataset.room = summary.code;
  row.dataset.status = summary.status;
  row.dataset.group = String(section(summary));

  const link = document.createElement('a');
  link.className = 'room-link';
  link.href = '/rooms/' + encodeURIComponent(summary.code) + '/';

  const rules = [summary.size + '×' + summary.size, summary.win_length + ' in a row'];
  const control = timeControlWords(summary.time_control);
  if (control) rules.push(control);
  if (summary.rated) rules.push('rated');

  const counted = typeof summary.here === 'number';
  const facts = element('span', 'room-facts', '');
  facts.append(
    element('span', 'room-players', playersWords(summary)),
    element('span', 'room-here', counted ? summary.here + ' here' : summary.spectators + ' watching'),
    element('span', 'badge room-status', statusWords(summary)),
  );
  link.append(
    element('span', 'room-name', summary.name || summary.code),
    element('span', 'room-rules', rules.join(' · ')),
    facts,
  );
  row.append(link);
  return row;
}

/** @param {string} code */
function findRow(code) {
  for (const row of list.children) {
    if (row instanceof HTMLElement && row.dataset.room === code) return row;
  }
  return null;
}

function updateEmptyNote() {
  emptyNote.hidden = list.children.length > 0;
}

/**
 * The whole list, in the server's order.
 * @param {RoomSummary[]} rooms
 */
function showRooms(rooms) {
  const listed = rooms.filter((room) => room && isListed(room)).slice(0, limits.lobby_rooms);
  list.replaceChildren(...listed.map(roomRow));
  updateEmptyNote();
}

/**
 * Put one changed room in place: a room that no longer belongs leaves; any
 * other goes on top of its section (it is the most recently active there).
 * @param {RoomSummary} summary
 */
function upsertRoom(summary) {
  const existing = findRow(summary.code);
  if (existing) existing.remove();
  if (isListed(summary)) {
    const row = roomRow(summary);
    const rank = section(summary);
    const after = Array.from(list.children).find(
      (other) => other instanceof HTMLElement && Number(other.dataset.group) >= rank,
    );
    list.insertBefore(row, after || null);
    // The server lists at most this many; rooms added live push the last ones out.
    while (list.children.length > limits.lobby_rooms && list.lastElementChild) list.lastElementChild.remove();
  }
  updateEmptyNote();
}

/**
 * "3 players online · 1 game in play".
 * @param {number} players
 * @param {number} games
 */
function statsWords(players, games) {
  return players + (players === 1 ? ' player' : ' players') + ' online · ' +
    games + (games === 1 ? ' game' : ' games') + ' in play';
}

/** @param {import('./socket.js').ServerMessage} message */
function handleMessage(message) {
  if (message.type === 'rooms' && Array.isArray(message.rooms)) showRooms(message.rooms);
  else if (message.type === 'room' && message.room) upsertRoom(message.room);
  else if (message.type === 'tournament' && message.tournament) showTournament(message.tournament);
  else if (message.type === 'stats' && typeof message.players_online === 'number' &&
    typeof message.games_in_play === 'number') {
    statsLine.textContent = statsWords(message.players_online, message.games_in_play);
  }
}

// --------------------------------------------------------- tournaments

/**
 * A tournament that started (docs/protocol.md, "Arena tournaments"): its row, with a join button, on top.
 * @param {{id: number, name: string, url: string, ends_at: string, size: number, win_length: number, joined: number}} tournament
 */
function showTournament(tournament) {
  const section = byId('lobby-tournaments', HTMLElement);
  const tournaments = byId('tournament-list', HTMLElement);
  const row = document.createElement('li');
  row.className = 'room-row tournament-row';
  row.dataset.tournament = String(tournament.id);
  row.dataset.endsAt = tournament.ends_at;
  const link = document.createElement('a');
  link.className = 'room-link';
  link.href = tournament.url;
  const name = document.createElement('span');
  name.className = 'room-name';
  name.textContent = tournament.name;
  const rules = document.createElement('span');
  rules.className = 'room-rules';
  rules.textContent = 'Arena · ' + tournament.size + '×' + tournament.size + ' · ' + tournament.win_length +
    ' in a row · ' + tournament.joined + (tournament.joined === 1 ? ' player' : ' players');
  link.append(name, rules);
  const form = document.createElement('form');
  form.method = 'post';
  form.action = tournament.url + 'join/';
  form.className = 'inline-form tournament-row-join';
  const token = document.querySelector('input[name=csrfmiddlewaretoken]');
  if (token instanceof HTMLInputElement) form.append(token.cloneNode());
  const join = document.createElement('button');
  join.type = 'submit';
  join.className = 'btn btn-primary';
  join.textContent = 'Join';
  form.append(join);
  row.append(link, form);
  tournaments.querySelector('[data-tournament="' + tournament.id + '"]')?.remove();
  tournaments.prepend(row);
  section.hidden = false;
}

/** A tournament whose time is up leaves the lobby (its page still shows its last games and podium). */
function dropEndedTournaments() {
  const section = byId('lobby-tournaments', HTMLElement);
  for (const row of section.querySelectorAll('.tournament-row')) {
    if (row instanceof HTMLElement && Date.parse(row.dataset.endsAt || '') <= Date.now()) row.remove();
  }
  section.hidden = section.querySelector('.tournament-row') === null;
}

// -------------------------------------------------------------- the socket

/**
 * @param {import('./socket.js').Link} link
 * @param {string} reason
 */
function showLink(link, reason) {
  liveState.dataset.state = link;
  if (link === 'open') liveState.textContent = 'Live';
  else if (link === 'down') liveState.textContent = 'Reconnecting…';
  else if (link === 'final') {
    liveState.textContent = 'Not live';
    stopped.textContent = reason; // why, where there is room to say it
    stopped.hidden = false;
  }
}

// ------------------------------------------------------------ the forms

/**
 * Name fields start from what the server remembers for this session; else
 * from what this browser remembers; whatever is sent is remembered.
 */
function rememberNames() {
  const remembered = rememberedName();
  for (const input of document.querySelectorAll('input[data-remember-name]')) {
    if (!(input instanceof HTMLInputElement) || !input.form) continue;
    if (!input.value && remembered) input.value = remembered;
    input.form.addEventListener('submit', () => {
      const name = input.value.trim();
      if (!name) return;
      rememberName(name);
    });
  }
}

/** "In a row to win" can be at most the board size; tell the browser so it can say so. */
function linkWinLengthToSize() {
  const form = document.getElementById('create-room');
  if (!form) return;
  const size = form.querySelector('input[data-field="size"]');
  const winLength = form.querySelector('input[data-field="win_length"]');
  if (!(size instanceof HTMLInputElement) || !(winLength instanceof HTMLInputElement)) return;
  const sync = () => {
    const boardSize = Number.parseInt(size.value, 10);
    const possible = boardSize >= limits.min_size && boardSize <= limits.max_size;
    winLength.max = String(possible ? boardSize : limits.max_size);
  };
  size.addEventListener('input', sync);
  sync();
}

/** After a rejected POST, put the cursor where the problem is. */
function focusFirstInvalidField() {
  const invalid = document.querySelector('[aria-invalid="true"]');
  if (invalid instanceof HTMLElement) invalid.focus();
}

liveState.hidden = false; // without this script the list is not live, and does not say it is connecting
const initialRooms = readJson('initial-rooms');
showRooms(Array.isArray(initialRooms) ? initialRooms : []);
rememberNames();
linkWinLengthToSize();
focusFirstInvalidField();
window.setInterval(dropEndedTournaments, 5000);
new LiveSocket({
  path: '/ws/lobby/',
  snapshot: 'rooms',
  onMessage: handleMessage,
  onLink: showLink,
  limits: limits,
}).start();
