/*
 * tictac room page.
 *
 * The server is the only judge of the game: this script draws whatever the
 * latest `state` message says and sends the player's intentions (join, move,
 * chat, resign, rematch). It never changes the board on its own, so a
 * reconnect or a missed message is cured by simply drawing the next state.
 *
 * All text that comes from people (names, chat) goes through textContent.
 */
(function () {
  'use strict';

  const RECONNECT_MIN_MS = 500;
  const RECONNECT_MAX_MS = 10000;
  const PING_EVERY_MS = 20000;
  // A socket that has heard nothing (not even a pong) for this long is
  // probably half-open; we drop it and reconnect instead of waiting forever.
  const SILENCE_LIMIT_MS = 50000;
  const ERROR_SHOW_MS = 4500;
  const COPIED_SHOW_MS = 2000;
  const CHAT_KEEP = 200;
  const NAME_KEY = 'tictac.name';
  const MARKS = ['X', 'O'];
  const FINISHED = ['won', 'draw', 'resigned'];

  // Close codes after which reconnecting cannot help.
  const FINAL_CLOSE_REASONS = {
    4403: 'The server refused this connection. Reload the page to try again.',
    4404: 'This room does not exist.',
    4410: 'This room was closed by the host.',
  };
  const TOO_MANY_SOCKETS = 4429;

  // Friendlier wording for errors a person can hit by normal use.
  const FRIENDLY_ERRORS = {
    room_full: 'Both seats are taken. You can still watch and chat.',
    no_session: 'Your session is missing. Reload the page to join.',
    rate_limited: 'Slow down a little: too many messages at once.',
  };

  const byId = (id) => document.getElementById(id);

  const ui = {
    root: byId('room'),
    status: byId('status'),
    board: byId('board'),
    error: byId('error'),
    announcer: byId('announcer'),
    gameNumber: byId('game-number'),
    spectators: byId('spectators'),
    joinForm: byId('join-form'),
    joinName: byId('join-name'),
    resign: byId('resign'),
    resignDialog: byId('resign-dialog'),
    rematch: byId('rematch'),
    rematchStatus: byId('rematch-status'),
    movesPanel: byId('moves-panel'),
    moves: byId('moves'),
    movesEmpty: byId('moves-empty'),
    chatLog: byId('chat-log'),
    chatForm: byId('chat-form'),
    chatInput: byId('chat-input'),
    invite: byId('invite-link'),
    copyInvite: byId('copy-invite'),
    seats: {},
  };
  for (const mark of MARKS) {
    const seat = byId('seat-' + mark);
    ui.seats[mark] = {
      root: seat,
      name: seat.querySelector('.seat-name'),
      you: seat.querySelector('.seat-you'),
      presence: seat.querySelector('.presence-text'),
      tag: seat.querySelector('.seat-tag'),
    };
  }

  /* What the page currently shows and knows. */
  const view = {
    state: null, // the latest accepted `state` message
    mark: null, // this socket's seat ("X", "O") or null for a spectator
    live: false, // true once a state arrived over the socket (so `mark` is known)
    link: 'connecting', // 'connecting' | 'open' | 'down' | 'final'
    finalReason: '',
    moveSent: false, // a move is on its way; ignore more clicks until the answer
    cells: [], // the cell buttons, by index
    boardSize: 0,
    focusIndex: 0, // the cell that holds tabindex=0 (roving tabindex)
  };

  // ---------------------------------------------------------------- helpers

  function otherMark(mark) {
    return mark === 'X' ? 'O' : 'X';
  }

  function isFinished(status) {
    return FINISHED.includes(status);
  }

  /** 1-based row and column of a row-major cell index. */
  function rowCol(index, size) {
    return { row: Math.floor(index / size) + 1, col: (index % size) + 1 };
  }

  function cellWords(index, size) {
    const { row, col } = rowCol(index, size);
    return 'row ' + row + ', column ' + col;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function playerName(state, mark) {
    const player = state.players && state.players[mark];
    return player ? player.name : mark;
  }

  function announce(text) {
    if (!text) return;
    // Clearing first makes screen readers repeat identical consecutive text.
    ui.announcer.textContent = '';
    window.setTimeout(() => { ui.announcer.textContent = text; }, 50);
  }

  function rememberedName() {
    try { return window.localStorage.getItem(NAME_KEY) || ''; } catch (_) { return ''; }
  }

  function rememberName(name) {
    try { window.localStorage.setItem(NAME_KEY, name); } catch (_) { /* private mode: not remembered */ }
  }

  // ------------------------------------------------------------ game words

  /** "X wins", "Draw", "bob resigned — X wins", with the seated player's view. */
  function resultText(state) {
    const game = state.game;
    if (game.status === 'draw') return 'Draw';
    const winner = game.winner;
    let text = winner + ' wins';
    if (game.status === 'resigned') {
      text = playerName(state, otherMark(winner)) + ' resigned — ' + text;
    }
    if (view.mark) text += view.mark === winner ? ' — you win!' : ' — you lose';
    return text;
  }

  /** The one line that always says what is happening. */
  function statusText() {
    if (view.link === 'final') return view.finalReason;
    if (view.link === 'down') return 'Reconnecting…';
    const state = view.state;
    if (!state) return 'Connecting…';
    const game = state.game;
    if (isFinished(game.status)) return resultText(state);
    if (game.status === 'waiting') return 'Waiting for an opponent';
    if (game.turn === view.mark) return 'Your turn';
    return game.turn + ' is thinking';
  }

  /** What a screen reader should hear about the change from `before` to `after`. */
  function describeChange(before, after) {
    if (!before) return '';
    const game = after.game;
    if (game.id !== before.game.id) {
      return 'Game ' + game.number + ' started.' + (view.mark ? ' You play ' + view.mark + '.' : '');
    }
    const parts = [];
    if (game.moves > before.game.moves && game.last_move) {
      parts.push(game.last_move.mark + ' played ' + cellWords(game.last_move.cell, after.room.size));
    }
    if (game.status !== before.game.status) {
      if (isFinished(game.status)) parts.push(resultText(after));
      else if (game.status === 'playing') parts.push('Both seats are taken. X moves first');
    }
    return parts.join('. ');
  }

  // ------------------------------------------------------------------ board

  function cellLabel(index, size, mark, isLast, isWinning) {
    const { row, col } = rowCol(index, size);
    let label = 'Row ' + row + ', column ' + col + ', ' + (mark || 'empty');
    if (isWinning) label += ', winning line';
    if (isLast) label += ', last move';
    return label;
  }

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

  function isMyTurn(state) {
    return view.link === 'open' && view.mark !== null &&
      state.game.status === 'playing' && state.game.turn === view.mark;
  }

  function canPlay(index) {
    const state = view.state;
    return Boolean(state) && !view.moveSent && isMyTurn(state) && !state.game.board[index];
  }

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

  function setRovingCell(index, moveFocus) {
    const previous = view.cells[view.focusIndex];
    if (previous) previous.tabIndex = -1;
    view.focusIndex = index;
    const cell = view.cells[index];
    if (!cell) return;
    cell.tabIndex = 0;
    if (moveFocus) cell.focus();
  }

  /** The cell an arrow/Home/End key leads to from `index`, or null for other keys. */
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

  function onBoardKeydown(event) {
    const cell = event.target.closest('[data-cell]');
    if (!cell) return;
    const next = cellAfterKey(event.key, Number(cell.dataset.cell), view.boardSize, event.ctrlKey);
    if (next === null) return; // Enter and Space reach the button's own click
    event.preventDefault();
    setRovingCell(next, true);
  }

  function onBoardClick(event) {
    const cell = event.target.closest('[data-cell]');
    if (!cell) return;
    const index = Number(cell.dataset.cell);
    setRovingCell(index, false);
    if (!canPlay(index)) return;
    if (send({ type: 'move', cell: index })) {
      view.moveSent = true;
      render();
    }
  }

  function onBoardFocusin(event) {
    const cell = event.target.closest('[data-cell]');
    if (cell) setRovingCell(Number(cell.dataset.cell), false);
  }

  // ------------------------------------------------------ the side panels

  function renderSeats(state) {
    const game = state.game;
    for (const mark of MARKS) {
      const seat = ui.seats[mark];
      const player = state.players[mark];
      const toMove = view.link !== 'final' && game.status === 'playing' && game.turn === mark;
      const won = (game.status === 'won' || game.status === 'resigned') && game.winner === mark;

      seat.name.textContent = player ? player.name : 'Free seat';
      seat.you.hidden = view.mark !== mark;
      seat.presence.textContent = player ? (player.online ? 'online' : 'offline') : '';
      seat.root.classList.toggle('is-empty', !player);
      seat.root.classList.toggle('is-online', Boolean(player && player.online));
      seat.root.classList.toggle('is-turn', toMove);
      seat.tag.textContent = toMove ? 'to move' : (won ? 'winner' : '');
      seat.tag.hidden = !seat.tag.textContent;
    }
    const watching = state.spectators || 0;
    ui.spectators.textContent = watching === 1 ? '1 spectator' : watching + ' spectators';
  }

  function renderControls(state) {
    const game = state.game;
    const open = view.link === 'open';
    const seatFree = !state.players.X || !state.players.O;

    // Only offer a seat once the socket told us whether we already have one.
    ui.joinForm.hidden = !(view.live && open && !view.mark && seatFree);
    ui.resign.hidden = !(open && view.mark && game.status === 'playing');

    const asked = game.rematch || [];
    ui.rematch.hidden = !(open && view.mark && isFinished(game.status));
    ui.rematch.disabled = asked.includes(view.mark);
    ui.rematch.textContent = ui.rematch.disabled ? 'Rematch asked' : 'Rematch';
    ui.rematchStatus.textContent = isFinished(game.status)
      ? asked.map((mark) => mark + ' wants a rematch').join(' · ')
      : '';

    ui.gameNumber.textContent = ' · game ' + game.number;
    // A closed or vanished room takes no more chat.
    for (const control of ui.chatForm.elements) control.disabled = view.link === 'final';
  }

  function moveNotation(index, cell, size) {
    const { row, col } = rowCol(cell, size);
    const mark = index % 2 === 0 ? 'X' : 'O'; // X always moves first
    return (index + 1) + '. ' + mark + ' r' + row + 'c' + col;
  }

  function renderMoves(state) {
    const history = state.game.history;
    ui.movesPanel.hidden = !Array.isArray(history);
    if (!Array.isArray(history)) return;
    const key = state.game.id + ':' + history.length;
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
    if (!state) return;
    renderBoard(state);
    renderSeats(state);
    renderControls(state);
    renderMoves(state);
  }

  // ------------------------------------------------------- incoming messages

  /** True when `next` shows an earlier moment than what is on screen. */
  function isOlderThanShown(next) {
    const shown = view.state;
    if (!shown) return false;
    if (next.game.number !== shown.game.number) return next.game.number < shown.game.number;
    return next.game.moves < shown.game.moves;
  }

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
    if (before && fromSocket && next.game.id === before.game.id && next.game.moves > before.game.moves + 1) {
      send({ type: 'sync' });
    }
    // Our move is answered by a state with a new move count (or by an error);
    // a presence update in between must not unlock a second click.
    if (!before || next.game.id !== before.game.id || next.game.moves !== before.game.moves) {
      view.moveSent = false;
    }
    view.state = next;
    if (next.room.open === false) closeForGood(FINAL_CLOSE_REASONS[4410]);
    render();
    announce(describeChange(before, next));
  }

  function chatTime(iso) {
    const at = new Date(iso);
    if (Number.isNaN(at.getTime())) return '';
    return at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function appendChat(message) {
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
    while (log.children.length > CHAT_KEEP) log.firstElementChild.remove();
    if (nearBottom) log.scrollTop = log.scrollHeight;
  }

  let errorTimer = 0;
  function showError(text) {
    ui.error.textContent = text;
    ui.error.classList.add('is-visible');
    window.clearTimeout(errorTimer);
    // The text stays in the element after it fades, for whoever wants to read it.
    errorTimer = window.setTimeout(() => ui.error.classList.remove('is-visible'), ERROR_SHOW_MS);
  }

  function handleMessage(raw) {
    let message;
    try { message = JSON.parse(raw); } catch (_) { return; }
    if (!message || typeof message !== 'object') return;
    switch (message.type) {
      case 'state':
        connection.attempts = 0; // a state means the connection really works
        acceptState(message, true);
        break;
      case 'chat':
        appendChat(message);
        break;
      case 'error':
        view.moveSent = false;
        showError(FRIENDLY_ERRORS[message.code] || message.message || 'Something went wrong.');
        render();
        break;
      default:
        break; // pong and anything newer than this page
    }
  }

  // -------------------------------------------------------------- the socket

  const connection = {
    socket: null,
    attempts: 0,
    retryTimer: 0,
    pingTimer: 0,
    lastHeardAt: 0,
  };

  function socketUrl() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return scheme + '//' + location.host + ui.root.dataset.wsPath;
  }

  function send(message) {
    const socket = connection.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  function connect() {
    window.clearTimeout(connection.retryTimer);
    if (view.link === 'final') return;
    let socket;
    try {
      socket = new WebSocket(socketUrl());
    } catch (_) {
      onSocketGone(1006);
      return;
    }
    connection.socket = socket;
    // Events from a socket we already gave up on are ignored.
    socket.addEventListener('open', () => {
      if (socket !== connection.socket) return;
      connection.lastHeardAt = Date.now();
      view.link = 'open';
      startPinging();
      render();
    });
    socket.addEventListener('message', (event) => {
      if (socket !== connection.socket) return;
      connection.lastHeardAt = Date.now();
      handleMessage(event.data);
    });
    socket.addEventListener('close', (event) => {
      if (socket !== connection.socket) return;
      onSocketGone(event.code);
    });
  }

  function onSocketGone(code) {
    stopPinging();
    connection.socket = null;
    view.moveSent = false;
    if (FINAL_CLOSE_REASONS[code]) {
      closeForGood(FINAL_CLOSE_REASONS[code]);
      render();
      return;
    }
    view.link = 'down';
    render();
    scheduleReconnect(code === TOO_MANY_SOCKETS);
  }

  /** Exponential backoff with jitter, so a restarted server is not hit by every tab at once. */
  function scheduleReconnect(slowly) {
    const ceiling = slowly
      ? RECONNECT_MAX_MS
      : Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** connection.attempts);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    connection.attempts += 1;
    window.clearTimeout(connection.retryTimer);
    connection.retryTimer = window.setTimeout(connect, delay);
  }

  function closeForGood(reason) {
    view.link = 'final';
    view.finalReason = reason;
    window.clearTimeout(connection.retryTimer);
    stopPinging();
    const socket = connection.socket;
    connection.socket = null;
    if (socket) socket.close();
  }

  function startPinging() {
    stopPinging();
    connection.pingTimer = window.setInterval(() => {
      if (Date.now() - connection.lastHeardAt > SILENCE_LIMIT_MS) {
        dropSilentSocket();
        return;
      }
      send({ type: 'ping' });
    }, PING_EVERY_MS);
  }

  function stopPinging() {
    window.clearInterval(connection.pingTimer);
  }

  function dropSilentSocket() {
    const socket = connection.socket;
    connection.socket = null; // its late close event must not count twice
    if (socket) socket.close();
    onSocketGone(1006);
  }

  function reconnectNowIfDown() {
    if (view.link === 'down') {
      connection.attempts = 0;
      connect();
    }
  }

  // ----------------------------------------------------------- user actions

  function onJoin(event) {
    event.preventDefault();
    const name = ui.joinName.value.trim();
    const message = { type: 'join' };
    if (name) {
      message.name = name;
      rememberName(name);
    }
    if (!send(message)) showError('Not connected. Trying again…');
  }

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

  function onRematch() {
    send({ type: 'rematch' });
  }

  async function copyInviteLink() {
    const link = ui.invite.value;
    let copied = false;
    try {
      await navigator.clipboard.writeText(link);
      copied = true;
    } catch (_) {
      // No clipboard API (plain http) or no permission: select the text instead.
      ui.invite.focus();
      ui.invite.select();
      try { copied = document.execCommand('copy'); } catch (_) { copied = false; }
    }
    flashCopyButton(copied ? 'Copied' : 'Press Ctrl+C to copy');
  }

  let copyTimer = 0;
  function flashCopyButton(text) {
    ui.copyInvite.textContent = text;
    announce(text === 'Copied' ? 'Invite link copied' : text);
    window.clearTimeout(copyTimer);
    copyTimer = window.setTimeout(() => { ui.copyInvite.textContent = 'Copy invite link'; }, COPIED_SHOW_MS);
  }

  // ------------------------------------------------------------------ start

  function readInitialState() {
    const script = byId('initial-state');
    if (!script) return null;
    try { return JSON.parse(script.textContent); } catch (_) { return null; }
  }

  function start() {
    ui.invite.value = location.origin + location.pathname;
    ui.joinName.value = rememberedName();

    ui.board.addEventListener('click', onBoardClick);
    ui.board.addEventListener('keydown', onBoardKeydown);
    ui.board.addEventListener('focusin', onBoardFocusin);
    ui.joinForm.addEventListener('submit', onJoin);
    ui.chatForm.addEventListener('submit', onChat);
    ui.resign.addEventListener('click', onResignClick);
    ui.resignDialog.addEventListener('close', onResignDialogClose);
    ui.rematch.addEventListener('click', onRematch);
    ui.copyInvite.addEventListener('click', copyInviteLink);
    window.addEventListener('online', reconnectNowIfDown);

    // Draw the board the server rendered into the page before the socket is up.
    acceptState(readInitialState(), false);
    render();
    connect();
  }

  start();
})();
