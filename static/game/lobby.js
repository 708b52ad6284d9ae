/*
 * tictac lobby: draws the list of open rooms (embedded in the page as
 * #initial-rooms, in the server's order) and keeps it live from the
 * /ws/lobby/ feed; remembers the player's name for Quick play and the create
 * form; keeps the create form's limits consistent.
 *
 * Every row is built here, in one place (the template's <noscript> list is
 * only for pages without JavaScript). Room and player names come from
 * people, so they only ever go through textContent.
 */
(function () {
  'use strict';

  const RECONNECT_MIN_MS = 500;
  const RECONNECT_MAX_MS = 10000;
  const NAME_KEY = 'tictac.name';
  // The server lists at most this many; rooms added live push the oldest out.
  const ROWS_SHOWN = 50;
  const STATUS_LABELS = {
    waiting: 'Waiting',
    playing: 'Playing',
  };
  // The lobby's groups, in order: a seat you can take now, games to watch, the rest.
  const JOINABLE = 0;
  const PLAYING = 1;
  const OTHER = 2;

  const list = document.getElementById('room-list');
  const emptyNote = document.getElementById('rooms-empty');
  const liveState = document.getElementById('lobby-live');

  // ------------------------------------------------------------- room rows

  function span(className, text) {
    const node = document.createElement('span');
    node.className = className;
    node.textContent = text;
    return node;
  }

  function group(summary) {
    if (summary.joinable) return JOINABLE;
    return summary.status === 'playing' ? PLAYING : OTHER;
  }

  /** "15 s per move", "1 min + 2 s", "5 min": a time control in words. */
  function timeControlWords(control) {
    if (!control) return '';
    const amount = (seconds) => (seconds >= 60 && seconds % 60 === 0 ? seconds / 60 + ' min' : seconds + ' s');
    if (control.kind === 'move') return amount(control.seconds) + ' per move';
    if (control.kind === 'budget') {
      return amount(control.seconds) + (control.increment ? ' + ' + control.increment + ' s' : '');
    }
    return '';
  }

  /** "alice vs —": who sits where (older servers only say how many). */
  function playersWords(summary) {
    const names = summary.names;
    if (!names) return summary.players + '/2 players';
    return (names.X || '—') + ' vs ' + (names.O || '—');
  }

  function statusWords(summary) {
    if (summary.joinable) return 'Join now';
    return STATUS_LABELS[summary.status] || 'Finished';
  }

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

    const here = typeof summary.here === 'number' ? summary.here : summary.spectators;
    const facts = span('room-facts', '');
    facts.append(
      span('room-players', playersWords(summary)),
      span('room-here', typeof summary.here === 'number' ? here + ' here' : here + ' watching'),
      span('badge room-status', statusWords(summary)),
    );
    link.append(span('room-name', summary.name || summary.code), span('room-rules', rules.join(' · ')), facts);
    row.append(link);
    return row;
  }

  function findRow(code) {
    for (const row of list.children) {
      if (row.dataset.room === code) return row;
    }
    return null;
  }

  function updateEmptyNote() {
    emptyNote.hidden = list.children.length > 0;
  }

  /** The whole list, in the server's order. */
  function showRooms(rooms) {
    list.replaceChildren(...rooms.filter((room) => room && room.open !== false).map(roomRow));
    updateEmptyNote();
  }

  /**
   * Put one changed room in place: a closed room leaves; any other goes on
   * top of its group (it is the most recently active there).
   */
  function upsertRoom(summary) {
    const existing = findRow(summary.code);
    if (existing) existing.remove();
    if (summary.open !== false) {
      const row = roomRow(summary);
      const rank = group(summary);
      const after = Array.from(list.children).find((other) => Number(other.dataset.group) >= rank);
      list.insertBefore(row, after || null);
      while (list.children.length > ROWS_SHOWN) list.lastElementChild.remove();
    }
    updateEmptyNote();
  }

  function handleMessage(raw) {
    let message;
    try { message = JSON.parse(raw); } catch (_) { return; }
    if (!message || typeof message !== 'object') return;
    if (message.type === 'rooms' && Array.isArray(message.rooms)) showRooms(message.rooms);
    else if (message.type === 'room' && message.room) upsertRoom(message.room);
  }

  function readInitialRooms() {
    const script = document.getElementById('initial-rooms');
    if (!script) return [];
    try {
      const rooms = JSON.parse(script.textContent);
      return Array.isArray(rooms) ? rooms : [];
    } catch (_) {
      return [];
    }
  }

  // -------------------------------------------------------------- the socket

  const connection = { socket: null, attempts: 0, retryTimer: 0 };

  function setLiveState(state, text) {
    liveState.dataset.state = state;
    liveState.textContent = text;
  }

  function connect() {
    window.clearTimeout(connection.retryTimer);
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let socket;
    try {
      socket = new WebSocket(scheme + '//' + location.host + '/ws/lobby/');
    } catch (_) {
      scheduleReconnect();
      return;
    }
    connection.socket = socket;
    socket.addEventListener('open', () => setLiveState('open', 'Live'));
    socket.addEventListener('message', (event) => {
      connection.attempts = 0; // the feed really works: next drop starts the backoff afresh
      handleMessage(event.data);
    });
    socket.addEventListener('close', () => {
      if (socket !== connection.socket) return;
      connection.socket = null;
      scheduleReconnect();
    });
  }

  /** Exponential backoff with jitter, so a restarted server is not hit by every tab at once. */
  function scheduleReconnect() {
    setLiveState('down', 'Reconnecting…');
    const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** connection.attempts);
    connection.attempts += 1;
    connection.retryTimer = window.setTimeout(connect, ceiling / 2 + Math.random() * (ceiling / 2));
  }

  window.addEventListener('online', () => {
    if (!connection.socket) {
      connection.attempts = 0;
      connect();
    }
  });

  // ------------------------------------------------------------ the forms

  /**
   * Name fields start from what the server remembers for this session; else
   * from what this browser remembers; whatever is sent is remembered.
   */
  function rememberNames() {
    let remembered = '';
    try { remembered = window.localStorage.getItem(NAME_KEY) || ''; } catch (_) { /* private mode */ }
    for (const input of document.querySelectorAll('[data-remember-name]')) {
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
    const size = form.querySelector('[data-field="size"]');
    const winLength = form.querySelector('[data-field="win_length"]');
    if (!size || !winLength) return;
    const sync = () => {
      const boardSize = Number.parseInt(size.value, 10);
      winLength.max = boardSize >= 3 && boardSize <= 15 ? String(boardSize) : '15';
    };
    size.addEventListener('input', sync);
    sync();
  }

  /** After a rejected POST, put the cursor where the problem is. */
  function focusFirstInvalidField() {
    const invalid = document.querySelector('[aria-invalid="true"]');
    if (invalid) invalid.focus();
  }

  showRooms(readInitialRooms());
  rememberNames();
  linkWinLengthToSize();
  focusFirstInvalidField();
  connect();
})();
