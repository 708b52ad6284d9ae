// @ts-check
/*
 * tictac's live connection: one WebSocket to the server, kept open for as
 * long as the page lives. Both the lobby and the room page use it.
 *
 * On every (re)connect the server first sends a full snapshot of what the
 * page shows (`rooms`, `state`), so a page never has to replay what it
 * missed: it draws the snapshot. This module reconnects after a drop, with
 * exponential backoff and jitter so that a restarted server is not hit by
 * every tab at once; it pings so that a half-open socket is noticed; and it
 * gives up for good, saying why, on the close codes after which trying again
 * cannot help (docs/protocol.md, "Close codes").
 *
 * A pong proves only that the server answers: a room's states come through
 * its group, in Redis, which may be away while the socket is open. The
 * server sends every room a `heartbeat` through the group every
 * `limits.heartbeat_ms`; a page that names its group's messages
 * (`groupFrames`) and hears none of them for TROUBLE_AFTER_HEARTBEATS
 * heartbeats while its socket is open says so, with the DOM event
 * `tictac:connection` (`detail.trouble` true), and again (false) once one
 * comes.
 */

/**
 * The server's limits and timings that the pages follow (views.page_limits),
 * from the page's `#limits` JSON.
 * @typedef {object} Limits
 * @property {number} name_max_length
 * @property {number} chat_max_length
 * @property {number} min_size
 * @property {number} max_size
 * @property {number} min_win_length
 * @property {number} lobby_rooms
 * @property {number} ping_every_ms
 * @property {number} silence_limit_ms
 * @property {number} heartbeat_ms
 */

/**
 * 'connecting' until the first open; 'open'; 'down' while waiting to
 * reconnect; 'final' once the page has stopped for good.
 * @typedef {'connecting' | 'open' | 'down' | 'final'} Link
 */

/** A message from the server: a JSON object with a `type`. @typedef {{type: string} & Record<string, any>} ServerMessage */

/**
 * @typedef {object} LiveSocketOptions
 * @property {string} path The socket's path, e.g. "/ws/rooms/abcd1234/".
 * @property {string} snapshot The type of the message the server sends first on every connect.
 * @property {(message: ServerMessage, fresh: boolean) => void} onMessage Every message; `fresh` is true
 *   for the first snapshot after each (re)connect.
 * @property {(link: Link, reason: string) => void} onLink Every change of the link; `reason` says why
 *   the page stopped, when it is 'final'.
 * @property {Limits} limits The server's ping timings.
 * @property {ReadonlyArray<string>} [groupFrames] The types of the messages that reach this page through
 *   its room's group (the server's `heartbeat` among them): given, the page watches that they keep coming.
 */

const RECONNECT_MIN_MS = 500;
// Heartbeats missed before the page says its room no longer reaches it: two, and half a one's delay.
const TROUBLE_AFTER_HEARTBEATS = 2.5;
/** The DOM event on `document` that says whether the room's messages have stopped reaching the page. */
export const CONNECTION_EVENT = 'tictac:connection';
const RECONNECT_MAX_MS = 10000;

// The server's close codes after which reconnecting cannot help, and what to tell the player.
/** @type {Readonly<Record<number, string>>} */
export const FINAL_CLOSES = Object.freeze({
  1009: 'This page sent the server a message that was too big. Reload the page to carry on.',
  4403: 'The server does not accept connections from this page’s address (' + location.host +
    '). Open the game at its usual address.',
  4404: 'This room does not exist.',
  4410: 'This room was closed by the host.',
});

// Too many sockets (4429): trying again soon would only be refused again.
const RETRY_SLOWLY = 4429;
// The server is restarting (1012): back at once, as after a first drop.
const RETRY_AT_ONCE = 1012;
// What a socket that ended without a close frame, or never opened, reads as.
const ABNORMAL = 1006;

/**
 * The JSON the server put in the page with `json_script`, or null.
 * @param {string} id
 * @returns {any}
 */
export function readJson(id) {
  const script = document.getElementById(id);
  if (!script) return null;
  try { return JSON.parse(script.textContent || ''); } catch (_) { return null; }
}

export class LiveSocket {
  /** @param {LiveSocketOptions} options */
  constructor(options) {
    this.options = options;
    /** @type {Link} */
    this.link = 'connecting';
    /** @type {WebSocket | null} */
    this.socket = null;
    this.attempts = 0; // drops since the last snapshot: the backoff's exponent
    this.retryTimer = 0;
    this.pingTimer = 0;
    this.lastHeardAt = 0;
    this.lastGroupFrameAt = 0;
    this.troubleTimer = 0;
    this.trouble = false;
    this.awaitingSnapshot = false;
    window.addEventListener('online', () => this.reconnectNowIfDown());
  }

  /** Open the socket (a page that already stopped stays stopped). */
  start() {
    this.connect();
  }

  /**
   * Send one message; false when the socket is not open (nothing is queued).
   * @param {object} message
   * @returns {boolean}
   */
  send(message) {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  /**
   * Close for good and tell the page why (for example: the room was closed).
   * @param {string} reason
   */
  stop(reason) {
    window.clearTimeout(this.retryTimer);
    this.stopPinging();
    this.stopWatchingGroup();
    const socket = this.socket;
    this.socket = null; // its close event is not a drop
    if (socket) socket.close();
    this.setLink('final', reason);
  }

  /** @private */
  connect() {
    window.clearTimeout(this.retryTimer);
    if (this.link === 'final') return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    /** @type {WebSocket} */
    let socket;
    try {
      socket = new WebSocket(scheme + '//' + location.host + this.options.path);
    } catch (_) {
      this.onGone(ABNORMAL);
      return;
    }
    this.socket = socket;
    // Events from a socket this page already gave up on are ignored.
    socket.addEventListener('open', () => {
      if (socket !== this.socket) return;
      this.lastHeardAt = Date.now();
      this.awaitingSnapshot = true;
      this.startPinging();
      this.heardFromGroup();
      this.setLink('open', '');
    });
    socket.addEventListener('message', (event) => {
      if (socket !== this.socket) return;
      this.lastHeardAt = Date.now();
      this.receive(event.data);
    });
    socket.addEventListener('close', (event) => {
      if (socket !== this.socket) return;
      this.onGone(event.code);
    });
  }

  /**
   * @private
   * @param {unknown} raw
   */
  receive(raw) {
    /** @type {unknown} */
    let message;
    try { message = JSON.parse(String(raw)); } catch (_) { return; }
    if (!message || typeof message !== 'object' || typeof (/** @type {any} */ (message).type) !== 'string') return;
    const typed = /** @type {ServerMessage} */ (message);
    if (this.options.groupFrames && this.options.groupFrames.includes(typed.type)) this.heardFromGroup();
    let fresh = false;
    if (typed.type === this.options.snapshot) {
      this.attempts = 0; // a snapshot means the connection really works: the next drop starts afresh
      fresh = this.awaitingSnapshot;
      this.awaitingSnapshot = false;
    }
    this.options.onMessage(typed, fresh);
  }

  /**
   * @private
   * @param {number} code
   */
  onGone(code) {
    this.stopPinging();
    this.stopWatchingGroup();
    this.socket = null;
    const reason = FINAL_CLOSES[code];
    if (reason) {
      this.stop(reason);
      return;
    }
    if (code === RETRY_AT_ONCE) this.attempts = 0;
    this.setLink('down', '');
    this.scheduleReconnect(code === RETRY_SLOWLY);
  }

  /**
   * Exponential backoff with jitter: half the ceiling, plus up to the other half at random.
   * @private
   * @param {boolean} slowly
   */
  scheduleReconnect(slowly) {
    const ceiling = slowly ? RECONNECT_MAX_MS : Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.attempts);
    this.attempts += 1;
    window.clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => this.connect(), ceiling / 2 + Math.random() * (ceiling / 2));
  }

  /** @private */
  reconnectNowIfDown() {
    if (this.link !== 'down') return;
    this.attempts = 0;
    this.connect();
  }

  /** @private */
  startPinging() {
    this.stopPinging();
    const { ping_every_ms: every, silence_limit_ms: silence } = this.options.limits;
    this.pingTimer = window.setInterval(() => {
      // A socket that heard nothing, not even a pong, for this long is probably half-open.
      if (Date.now() - this.lastHeardAt > silence) {
        this.dropSilentSocket();
        return;
      }
      this.send({ type: 'ping' });
    }, every);
  }

  /** @private */
  stopPinging() {
    window.clearInterval(this.pingTimer);
  }

  /** @private */
  dropSilentSocket() {
    const socket = this.socket;
    this.socket = null; // its late close event must not count twice
    if (socket) socket.close();
    this.onGone(ABNORMAL);
  }

  /**
   * A message came through the room's group (or the socket just opened): the
   * room reaches the page; watch for the next.
   * @private
   */
  heardFromGroup() {
    // A page from a server without the heartbeat (no heartbeat_ms) has nothing to watch.
    if (!this.options.groupFrames || !(this.options.limits.heartbeat_ms > 0)) return;
    this.lastGroupFrameAt = Date.now();
    this.setTrouble(false);
    if (!this.troubleTimer) this.watchGroup(this.troubleAfterMs());
  }

  /**
   * Look again in `delay` ms. Not a timer reset per message: a busy room sends many.
   * @private
   * @param {number} delay
   */
  watchGroup(delay) {
    this.troubleTimer = window.setTimeout(() => {
      this.troubleTimer = 0;
      if (this.link !== 'open') return;
      // A background tab's timers run late: the time, not the timer, decides.
      const quiet = Date.now() - this.lastGroupFrameAt;
      const limit = this.troubleAfterMs();
      if (quiet >= limit) this.setTrouble(true);
      this.watchGroup(quiet >= limit ? limit : limit - quiet);
    }, delay);
  }

  /** @private */
  stopWatchingGroup() {
    window.clearTimeout(this.troubleTimer);
    this.troubleTimer = 0;
    this.setTrouble(false); // a socket that is down says so itself (the link)
  }

  /** @private */
  troubleAfterMs() {
    return TROUBLE_AFTER_HEARTBEATS * this.options.limits.heartbeat_ms;
  }

  /**
   * @private
   * @param {boolean} trouble
   */
  setTrouble(trouble) {
    if (trouble === this.trouble) return;
    this.trouble = trouble;
    document.dispatchEvent(new CustomEvent(CONNECTION_EVENT, { detail: { trouble: trouble } }));
  }

  /**
   * @private
   * @param {Link} link
   * @param {string} reason
   */
  setLink(link, reason) {
    this.link = link;
    this.options.onLink(link, reason);
  }
}
