// @ts-check
/*
 * tictac lobby: draws the list of open rooms (embedded in the page as
 * #initial-rooms, in the server's order, so it shows before the socket is
 * up) and keeps it live from the /ws/lobby/ feed; remembers the player's
 * name for Quick play and the create form; keeps the create form's limits
 * consistent.
 *
 * Every row is built here and nowhere else. Room and player names come from
 * people, so they only ever go through textContent.
 */
import { LiveSocket, readJson } from './socket.js';
import { timeControlWords } from './words.js';

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
 * @property {number} [here]
 * @property {boolean} [joinable]
 * @property {import('./words.js').TimeControl | null} [time_control]
 */

/** @type {import('./socket.js').Limits} */
const limits = readJson('limits');
const NAME_KEY = 'tictac.name';
/** @type {Record<string, string>} */
const STATUS_LABELS = {
  waiting: 'Waiting',
  playing: 'Playing',
};
// The lobby's groups, in order: a seat you can take now, games to watch, the rest.
const JOINABLE = 0;
const PLAYING = 1;
const OTHER = 2;

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error('the lobby page has no #' + id);
  return node;
}

const list = byId('room-list');
const emptyNote = byId('rooms-empty');
const liveState = byId('lobby-live');
const stopped = byId('lobby-stopped');

// ------------------------------------------------------------- room rows

/**
 * @param {string} className
 * @param {string} text
 */
function span(className, text) {
  const node = document.createElement('span');
  node.className = className;
  node.textContent = text;
  return node;
}

/** @param {RoomSummary} summary */
function group(summary) {
  if (summary.joinable) return JOINABLE;
  return summary.status === 'playing' ? PLAYING : OTHER;
}

/**
 * "alice vs —": who sits where (older servers only say how many).
 * @param {RoomSummary} summary
 */
function playersWords(summary) {
  const names = summary.names;
  if (!names) return summary.players + '/2 players';
  return (names.X || '—') + ' vs ' + (names.O || '—');
}

/** @param {RoomSummary} summary */
function statusWords(summary) {
  if (summary.joinable) return 'Join now';
  return STATUS_LABELS[summary.status] || 'Finished';
}

/** @param {RoomSummary} summary */
function roomRow(summary) {
  const row = document.createElement('li');
  row.className = 'room-row';
  row.dataset.room = summary.code;
  row.dataset.status = summary.status;
  row.dataset.group = String(group(summary));

  const link = document.createElement('a');
  link.className = 'room-link';
  link.href = '/rooms/' + encodeURIComponent(summary.code) + '/';

  const rules = [summary.size + '×' + summary.size, summary.win_length + ' in a row'];
  const control = timeControlWords(summary.time_control);
  if (control) rules.push(control);

  const counted = typeof summary.here === 'number';
  const facts = span('room-facts', '');
  facts.append(
    span('room-players', playersWords(summary)),
    span('room-here', counted ? summary.here + ' here' : summary.spectators + ' watching'),
    span('badge room-status', statusWords(summary)),
  );
  link.append(span('room-name', summary.name || summary.code), span('room-rules', rules.join(' · ')), facts);
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
  list.replaceChildren(...rooms.filter((room) => room && room.open !== false).map(roomRow));
  updateEmptyNote();
}

/**
 * Put one changed room in place: a closed room leaves; any other goes on
 * top of its group (it is the most recently active there).
 * @param {RoomSummary} summary
 */
function upsertRoom(summary) {
  const existing = findRow(summary.code);
  if (existing) existing.remove();
  if (summary.open !== false) {
    const row = roomRow(summary);
    const rank = group(summary);
    const after = Array.from(list.children).find(
      (other) => other instanceof HTMLElement && Number(other.dataset.group) >= rank,
    );
    list.insertBefore(row, after || null);
    // The server lists at most this many; rooms added live push the last ones out.
    while (list.children.length > limits.lobby_rooms && list.lastElementChild) list.lastElementChild.remove();
  }
  updateEmptyNote();
}

/** @param {import('./socket.js').ServerMessage} message */
function handleMessage(message) {
  if (message.type === 'rooms' && Array.isArray(message.rooms)) showRooms(message.rooms);
  else if (message.type === 'room' && message.room) upsertRoom(message.room);
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
  let remembered = '';
  try { remembered = window.localStorage.getItem(NAME_KEY) || ''; } catch (_) { /* private mode */ }
  for (const input of document.querySelectorAll('input[data-remember-name]')) {
    if (!(input instanceof HTMLInputElement) || !input.form) continue;
    if (!input.value && remembered) input.value = remembered;
    input.form.addEventListener('submit', () => {
      const name = input.value.trim();
      if (!name) return;
      try { window.localStorage.setItem(NAME_KEY, name); } catch (_) { /* not remembered */ }
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

const initialRooms = readJson('initial-rooms');
showRooms(Array.isArray(initialRooms) ? initialRooms : []);
rememberNames();
linkWinLengthToSize();
focusFirstInvalidField();
new LiveSocket({
  path: '/ws/lobby/',
  snapshot: 'rooms',
  onMessage: handleMessage,
  onLink: showLink,
  limits: limits,
}).start();
