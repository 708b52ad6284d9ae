/*
 * tictac lobby: keeps the server-rendered list of open rooms up to date from
 * the /ws/lobby/ feed, and keeps the create form's limits consistent.
 *
 * The rows built here mirror the markup in templates/game/lobby.html.
 * Room names come from people, so they only ever go through textContent.
 */
(function () {
  'use strict';

  const RECONNECT_MIN_MS = 500;
  const RECONNECT_MAX_MS = 10000;
  const STATUS_LABELS = {
    waiting: 'Waiting',
    playing: 'Playing',
    won: 'Finished',
    draw: 'Finished',
    resigned: 'Finished',
  };

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

  function roomRow(summary) {
    const row = document.createElement('li');
    row.className = 'room-row';
    row.dataset.room = summary.code;
    row.dataset.status = summary.status;

    const link = document.createElement('a');
    link.className = 'room-link';
    link.href = '/rooms/' + encodeURIComponent(summary.code) + '/';

    const facts = span('room-facts', '');
    facts.append(
      span('room-players', summary.players + '/2 players'),
      span('room-spectators', summary.spectators + ' watching'),
      span('badge room-status', STATUS_LABELS[summary.status] || summary.status),
    );
    link.append(
      span('room-name', summary.name || summary.code),
      span('room-rules', summary.size + '×' + summary.size + ' · ' + summary.win_length + ' in a row'),
      facts,
    );
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

  function showRooms(rooms) {
    list.replaceChildren(...rooms.filter((room) => room.open !== false).map(roomRow));
    updateEmptyNote();
  }

  /** Put one changed room in place: new rooms go on top, closed rooms leave. */
  function upsertRoom(summary) {
    const existing = findRow(summary.code);
    if (summary.open === false) {
      if (existing) existing.remove();
    } else if (existing) {
      existing.replaceWith(roomRow(summary));
    } else {
      list.prepend(roomRow(summary));
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

  // ------------------------------------------------------- the create form

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

  linkWinLengthToSize();
  focusFirstInvalidField();
  connect();
})();
