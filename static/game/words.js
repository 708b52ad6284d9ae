// @ts-check
/* Words the lobby and the room page both show. */

/**
 * A room's time control, as in `room.time_control` and lobby summaries.
 * @typedef {{kind: string, seconds: number, increment?: number}} TimeControl
 */

/**
 * "15 s per move", "1 min + 2 s", "5 min": a time control in words ('' for none).
 * @param {TimeControl | null | undefined} control
 * @returns {string}
 */
export function timeControlWords(control) {
  if (!control) return '';
  /** @param {number} seconds */
  const amount = (seconds) => (seconds >= 60 && seconds % 60 === 0 ? seconds / 60 + ' min' : seconds + ' s');
  if (control.kind === 'move') return amount(control.seconds) + ' per move';
  if (control.kind === 'budget') {
    return amount(control.seconds) + (control.increment ? ' + ' + control.increment + ' s' : '');
  }
  return '';
}
