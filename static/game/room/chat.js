// @ts-check
/* The room's chat: the log of lines and the form that sends one. */
import { element } from '../dom.js';
import { send, showError, ui } from './page.js';

/** @typedef {import('./state.js').ChatMessage} ChatMessage */

const CHAT_KEEP = 200;

/** @param {string | undefined} iso */
function chatTime(iso) {
  if (!iso) return '';
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return '';
  return at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** @param {ChatMessage} message */
export function appendChat(message) {
  if (!message || typeof message !== 'object') return;
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
  while (log.children.length > CHAT_KEEP && log.firstElementChild) log.firstElementChild.remove();
  if (nearBottom) log.scrollTop = log.scrollHeight;
}

/** @param {SubmitEvent} event */
export function onChat(event) {
  event.preventDefault();
  const text = ui.chatInput.value.trim();
  if (!text) return;
  if (send({ type: 'chat', text: text })) ui.chatInput.value = '';
  else showError('Not connected. Your message was not sent.');
}
