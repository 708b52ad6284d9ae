// @ts-check
/*
 * An arena tournament's page: the standings, live from its socket
 * (ws/tournaments/<id>/), the time to the start or the end, the join and
 * withdraw buttons, and the podium once it is over. While the page is open
 * its player counts as present and is paired; `paired` sends the page to the
 * game's room (whose after-game panel leads back here). The server draws the
 * same page without this script; this script redraws it from each
 * `tournament` message. Names come from people: only ever textContent.
 * docs/protocol.md, "Arena tournaments".
 */

import { byId } from './dom.js';
import { LiveSocket, readJson } from './socket.js';

/**
 * @typedef {object} Standing
 * @property {string} name
 * @property {number} score
 * @property {number} games
 * @property {number} streak
 * @property {number} rank
 * @property {number[]} points
 * @property {boolean} fire
 * @property {boolean} playing
 * @property {boolean} active
 */

/**
 * @typedef {object} Tournament
 * @property {string} status
 * @property {string} starts_at
 * @property {string} ends_at
 * @property {number} joined
 * @property {number} games_in_play
 * @property {Standing[]} players
 * @property {{rank: number, name: string, score: number}[]} podium
 * @property {{name: string, rank: number, active: boolean, playing: boolean} | null} [you]
 */


const root = byId('tournament', HTMLElement);
const statusLine = byId('tournament-status', HTMLElement);
const inPlay = byId('tournament-in-play', HTMLElement);
const you = byId('tournament-you', HTMLElement);
const joinForm = byId('tournament-join-form', HTMLElement);
const withdrawForm = byId('tournament-withdraw-form', HTMLElement);
const body = byId('standings-body', HTMLElement);
const empty = byId('standings-empty', HTMLElement);
const podium = byId('podium', HTMLElement);
const podiumList = byId('podium-list', HTMLElement);
const liveState = byId('tournament-live', HTMLElement);

/** @type {Tournament | null} */
let shown = readJson('initial-tournament');

/**
 * @param {number} ms
 * @returns {string}
 */
function duration(ms) {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = String(seconds % 60).padStart(2, '0');
  return hours ? hours + ':' + String(minutes).padStart(2, '0') + ':' + rest : minutes + ':' + rest;
}

/** The line under the title: the time to the start or the end, by this browser's clock. */
function showTime() {
  if (!shown) return;
  const now = Date.now();
  if (shown.status === 'created') statusLine.textContent = 'Starts in ' + duration(Date.parse(shown.starts_at) - now);
  else if (shown.status === 'started') statusLine.textContent = 'Playing: ' + duration(Date.parse(shown.ends_at) - now) + ' left';
  else statusLine.textContent = shown.games_in_play ? 'Time is up: the last games are being played' : 'Finished';
}

/**
 * @param {Standing} player
 * @returns {HTMLTableRowElement}
 */
function standingRow(player) {
  const row = document.createElement('tr');
  row.dataset.rank = String(player.rank);
  if (!player.active) row.className = 'withdrawn';
  const rank = document.createElement('td');
  rank.textContent = String(player.rank);
  const who = document.createElement('th');
  who.scope = 'row';
  const name = document.createElement('span');
  name.className = 'standing-name';
  name.textContent = player.name;
  who.append(name);
  if (player.fire) {
    const fire = document.createElement('span');
    fire.className = 'badge fire';
    fire.title = 'Two wins in a row: the next game scores double';
    fire.textContent = 'on fire';
    who.append(' ', fire);
  }
  if (player.playing) {
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.textContent = 'playing';
    who.append(' ', badge);
  }
  const sheet = document.createElement('td');
  sheet.className = 'sheet';
  sheet.textContent = player.points.join(' ');
  const score = document.createElement('td');
  score.className = 'score';
  score.textContent = String(player.score);
  row.append(rank, who, sheet, score);
  return row;
}

/** @param {Tournament} tournament */
function render(tournament) {
  shown = tournament;
  root.dataset.status = tournament.status;
  showTime();
  inPlay.textContent = tournament.games_in_play + (tournament.games_in_play === 1 ? ' game' : ' games') +
    ' in play · ' + tournament.joined + (tournament.joined === 1 ? ' player' : ' players');
  body.replaceChildren(...tournament.players.map(standingRow));
  empty.hidden = tournament.players.length > 0;

  const mine = tournament.you || null;
  const over = tournament.status === 'finished';
  joinForm.hidden = over || Boolean(mine && mine.active);
  withdrawForm.hidden = over || !(mine && mine.active);
  if (!mine) you.textContent = '';
  else if (!mine.active) you.textContent = 'You have withdrawn.';
  else if (over) you.textContent = 'You finished #' + mine.rank + '.';
  else if (mine.playing) you.textContent = 'You are in a game.';
  else if (tournament.status === 'created') you.textContent = 'You are in: pairing starts with the tournament. Keep this page open.';
  else you.textContent = 'Waiting for an opponent… Keep this page open.';

  podium.hidden = tournament.podium.length === 0;
  podiumList.replaceChildren(...tournament.podium.map((place) => {
    const item = document.createElement('li');
    item.className = 'podium-place';
    item.dataset.rank = String(place.rank);
    const name = document.createElement('span');
    name.className = 'podium-name';
    name.textContent = place.name;
    const score = document.createElement('span');
    score.className = 'podium-score';
    score.textContent = String(place.score);
    item.append(name, ' ', score);
    return item;
  }));
}

if (shown) render(shown);
window.setInterval(showTime, 1000);
liveState.hidden = false;

const live = new LiveSocket({
  path: root.dataset.wsPath || '',
  snapshot: 'tournament',
  limits: readJson('limits'),
  onMessage(message) {
    if (message.type === 'tournament') render(/** @type {Tournament} */ (/** @type {unknown} */ (message)));
    else if (message.type === 'paired' && typeof message.url === 'string') {
      you.textContent = 'Paired: going to your game…';
      location.assign(message.url);
    }
  },
  onLink(link, reason) {
    liveState.dataset.state = link;
    liveState.textContent = link === 'open' ? 'Live' : link === 'down' ? 'Reconnecting…' : link === 'final' ? 'Not live' : 'Connecting…';
    if (link === 'final' && reason) you.textContent = reason;
  },
});
live.start();
