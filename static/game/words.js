// @ts-check
/* Words more than one page shows: time controls, ratings, a board's cells. */

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

/**
 * A signed-in player's rating, as in `players.<mark>.rating`.
 * @typedef {{value: number, provisional?: boolean, change?: number | null}} Rating
 */

/**
 * "1512", or "1512?" while the rating is provisional (few rated games yet); '' without one (a guest).
 * @param {Rating | null | undefined} rating
 * @returns {string}
 */
export function ratingWords(rating) {
  if (!rating || typeof rating.value !== 'number') return '';
  return String(Math.round(rating.value)) + (rating.provisional ? '?' : '');
}

/**
 * "+12", "−12" (a real minus sign), "±0": what a rated game changed.
 * @param {number} change
 * @returns {string}
 */
export function ratingChangeWords(change) {
  const points = Math.round(change);
  if (points > 0) return '+' + points;
  if (points < 0) return '\u2212' + Math.abs(points);
  return '\u00b10';
}

/**
 * 1-based row and column of a row-major cell index.
 * @param {number} index
 * @param {number} size
 */
function rowCol(index, size) {
  return { row: Math.floor(index / size) + 1, col: (index % size) + 1 };
}

/**
 * "row 1, column 2": a cell as a screen reader hears a move.
 * @param {number} index
 * @param {number} size
 */
export function cellWords(index, size) {
  const { row, col } = rowCol(index, size);
  return 'row ' + row + ', column ' + col;
}

/**
 * "r1c2": a cell in the lists of moves.
 * @param {number} index
 * @param {number} size
 */
export function cellName(index, size) {
  const { row, col } = rowCol(index, size);
  return 'r' + row + 'c' + col;
}

/**
 * "Row 1, column 2, X, last move": a board cell's accessible name.
 * @param {number} index
 * @param {number} size
 * @param {string} mark
 * @param {boolean} isLast
 * @param {boolean} isWinning
 */
export function cellLabel(index, size, mark, isLast, isWinning) {
  const { row, col } = rowCol(index, size);
  let label = 'Row ' + row + ', column ' + col + ', ' + (mark || 'empty');
  if (isWinning) label += ', winning line';
  if (isLast) label += ', last move';
  return label;
}
