// @ts-check
/*
 * The quick-play waiting page: while its socket (ws/play/<pool key>/) is
 * open, this session waits in the pool. The server answers `seeking` (how
 * many wait in the pool) on connect and every few seconds, and `paired` once
 * an opponent is found: the page then goes to the room. An `error` is final
 * (no session, an unknown pool, too many seeks, or a newer seek in another
 * tab): the page stops and says why. Leaving the page (Cancel) ends the seek.
 * docs/protocol.md, "Quick play's pool".
 */

import { byId } from './dom.js';
import { LiveSocket, readJson } from './socket.js';

const root = byId('seek', HTMLElement);
const status = byId('seek-status', HTMLElement);
const elapsed = byId('seek-elapsed', HTMLElement);
const waiting = byId('seek-waiting', HTMLElement);
const notice = byId('seek-notice', HTMLElement);

const startedAt = Date.now();

/** @param {number} ms */
function minutesAndSeconds(ms) {
  const seconds = Math.floor(ms / 1000);
  return Math.floor(seconds / 60) + ':' + String(seconds % 60).padStart(2, '0');
}

const clock = window.setInterval(() => {
  elapsed.textContent = minutesAndSeconds(Date.now() - startedAt);
}, 1000);

/** @param {string} text */
function stopWith(text) {
  window.clearInterval(clock);
  status.textContent = 'Stopped looking';
  notice.textContent = text;
  notice.hidden = false;
}

const live = new LiveSocket({
  path: root.dataset.wsPath || '',
  snapshot: 'seeking',
  limits: readJson('limits'),
  onMessage(message) {
    if (message.type === 'seeking') {
      status.textContent = 'Looking for an opponent…';
      const others = Math.max(0, Number(message.waiting) - 1);
      waiting.textContent = others === 1 ? '1 other person is waiting here.' :
        others > 1 ? others + ' other people are waiting here.' : '';
    } else if (message.type === 'paired') {
      live.stop('');
      window.clearInterval(clock);
      status.textContent = 'Opponent found: going to the game…';
      location.assign(String(message.url));
    } else if (message.type === 'error') {
      live.stop(String(message.message));
    }
  },
  onLink(link, reason) {
    if (link === 'down') status.textContent = 'Connection lost: reconnecting…';
    if (link === 'final' && reason) stopWith(reason);
  },
});
live.start();
