// @ts-check
/*
 * tictac room page: this module starts it, makes its socket, takes what the
 * server sends and sends the player's intentions (join, move, chat, resign,
 * rematch, claim, offers).
 *
 * The server is the only judge of the game: the page draws whatever the
 * latest `state` message says (state.js) and never changes the board on its
 * own, so a reconnect or a missed message is cured by simply drawing the next
 * state. Clocks and the absent-player countdown tick locally between states,
 * from the server's own timestamps corrected for this machine's clock
 * (clock.js). The socket itself (reconnects, backoff, pings, giving up) is
 * socket.js's; the sounds are sound.js's.
 *
 * The room's modules import only those below them: page.js (the elements,
 * what the page knows, the socket to send through), clock.js, texts.js, then
 * board.js, panels.js and chat.js, then state.js, then this one.
 *
 * All text that comes from people (names, chat) goes through textContent.
 */
import { COPY_BY_HAND, copyLink, rememberName, rememberedName } from '../dom.js';
import { CONNECTION_EVENT, LiveSocket, readJson } from '../socket.js';
import { cellToPlay, onBoardFocusin, onBoardKeydown } from './board.js';
import { appendChat, onChat } from './chat.js';
import { announce, send, showError, ui, useSocket, view } from './page.js';
import { renderTitle } from './panels.js';
import { acceptState, render, resendUnansweredMove } from './state.js';

/** @typedef {import('./state.js').State} State */
/** @typedef {import('./state.js').ChatMessage} ChatMessage */
/** @typedef {import('./state.js').MoveMessage} MoveMessage */

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
 * One message from the server; `fresh` marks the first state after each (re)connect.
 * @param {import('../socket.js').ServerMessage} message
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
 * @param {import('../socket.js').Link} link
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
useSocket(socket);

// The room's messages (its heartbeat among them) stopped coming while the socket is open: say so (socket.js).
document.addEventListener(CONNECTION_EVENT, (event) => {
  const trouble = /** @type {CustomEvent<{trouble: boolean}>} */ (event).detail.trouble;
  /** @type {HTMLElement} */ (document.getElementById('connection-trouble')).hidden = !trouble;
});

// ----------------------------------------------------------- user actions

/** @param {object} message */
function sendOrComplain(message) {
  if (!send(message)) showError('Not connected. Trying again…');
}

/** A fresh move id: a page-wide counter plus randomness, so two tabs never share one. */
const moveIds = { counter: 0, prefix: Math.random().toString(36).slice(2, 10) };
function nextMoveId() {
  moveIds.counter += 1;
  return 'm-' + moveIds.prefix + '-' + moveIds.counter;
}

/** @param {MouseEvent} event */
function onBoardClick(event) {
  const index = cellToPlay(event);
  const state = view.state;
  if (index === null || !state) return;
  /** @type {MoveMessage} */
  const message = { type: 'move', cell: index, id: nextMoveId() };
  if (send(message)) {
    view.moveSent = true;
    view.pendingMove = { message: message, gameId: state.game.id, cell: index, resent: false };
    render();
  }
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
 * Copy an invite link; the button shows how it went and the announcer says it.
 * @param {HTMLInputElement} input
 * @param {HTMLButtonElement} button
 */
async function copyInvite(input, button) {
  announce((await copyLink(input, button)) ? 'Invite link copied' : COPY_BY_HAND);
}

// ------------------------------------------------------------------ start

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
  ui.copyInvite.addEventListener('click', () => copyInvite(ui.inviteLink, ui.copyInvite));
  ui.copyInviteHero.addEventListener('click', () => copyInvite(ui.inviteHeroLink, ui.copyInviteHero));
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
