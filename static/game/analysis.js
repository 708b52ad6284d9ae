// @ts-check
/*
 * tictac replay page: the game's analysis, from GET /games/<id>/analysis.json
 * (docs/protocol.md, "Analysis").
 *
 * replay.js draws the board for the shown position and then calls show():
 * this marks the mistakes and blunders in the move list once, says them in
 * words, says what the shown position holds, and, with the toggle on, tints
 * each empty cell by what it leads to (3×3: exact) and adds that to the
 * cell's label for a screen reader ("Row 1, column 2, empty: loses"). It
 * also keeps the "Practice from here" form on the shown position.
 * Nothing here comes from people except through textContent.
 */

/**
 * One position of the analysis.
 * @typedef {{
 *   ply: number, to_move: string | null, best: number[], played: number | null, verdict: string | null,
 *   value?: string | null, values?: Object<string, string>,
 *   score?: number | null, forced?: string | null, depth?: number
 * }} Position
 */

/** What a cell's value means for the player to move, in a label and on the board. */
const VALUE_WORDS = /** @type {Object<string, string>} */ ({ win: 'wins', draw: 'draws', loss: 'loses' });
const ORDINALS = ['first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth', 'ninth', 'tenth'];

/**
 * "third", "11th", "22nd": the n-th (from 1) in words.
 * @param {number} n
 */
export function ordinal(n) {
  if (n <= ORDINALS.length) return ORDINALS[n - 1];
  const teen = n % 100 >= 11 && n % 100 <= 13;
  const suffix = teen ? 'th' : ['th', 'st', 'nd', 'rd'][n % 10] || 'th';
  return n + suffix;
}

/**
 * "X's third move threw away the draw": what a mistake or blunder at `ply` cost, in words.
 * @param {Position} position
 */
export function verdictWords(position) {
  const mark = position.ply % 2 === 0 ? 'X' : 'O';
  const nth = ordinal(Math.floor(position.ply / 2) + 1);
  const played = position.values && position.played !== null ? position.values[String(position.played)] : null;
  const what = position.value === 'win' && played === 'loss' ? 'turned a win into a loss'
    : position.value === 'win' ? 'threw away the win'
      : 'threw away the draw';
  return mark + "'s " + nth + ' move ' + what;
}

/**
 * @param {string} id
 * @returns {HTMLElement | null}
 */
function element(id) {
  return document.getElementById(id);
}

/**
 * Start the analysis part of the replay page; replay.js calls `show(step)` after drawing each position.
 * @param {{size: number, moves: number[], cells: HTMLButtonElement[], steps: HTMLButtonElement[], redraw: () => void}} page
 * @returns {{show: (step: number) => void}}
 */
export function startAnalysis(page) {
  const panel = element('analysis');
  if (!panel) return { show() {} }; // a game still being played: no analysis, no practice
  const status = /** @type {HTMLElement} */ (element('analysis-status'));
  const words = /** @type {HTMLElement} */ (element('analysis-words'));
  const here = /** @type {HTMLElement} */ (element('analysis-position'));
  const toggle = /** @type {HTMLElement} */ (element('values-toggle'));
  const showValues = /** @type {HTMLInputElement} */ (element('show-values'));
  const practicePly = /** @type {HTMLInputElement} */ (element('practice-ply'));
  const practice = /** @type {HTMLButtonElement} */ (element('practice'));
  const practiceHelp = /** @type {HTMLElement} */ (element('practice-help'));
  const practiceWords = practiceHelp.textContent || '';
  const overAtEnd = panel.dataset.overAtEnd === 'true';
  /** @type {Position[] | null} */
  let positions = null;
  let exact = false;
  let shown = page.moves.length;

  /** @param {number} cell */
  const cellName = (cell) => 'r' + (Math.floor(cell / page.size) + 1) + 'c' + ((cell % page.size) + 1);

  function markMoves() {
    if (!positions) return;
    const marked = positions.filter((position) => position.verdict === 'mistake' || position.verdict === 'blunder');
    for (const position of marked) {
      const step = page.steps.find((button) => Number(button.dataset.step) === position.ply + 1);
      if (!step || step.querySelector('.verdict')) continue;
      const badge = document.createElement('span');
      badge.className = 'verdict';
      badge.dataset.verdict = String(position.verdict);
      const sign = document.createElement('span');
      sign.setAttribute('aria-hidden', 'true');
      sign.textContent = position.verdict === 'blunder' ? '??' : '?';
      const said = document.createElement('span');
      said.className = 'visually-hidden';
      said.textContent = ', ' + position.verdict;
      badge.append(' ', sign, said);
      step.append(badge);
      step.closest('li')?.classList.add('is-' + position.verdict);
    }
    if (!exact) {
      words.textContent = 'The engine\u2019s move in each position, from a short search: a suggestion, not the truth.';
    } else if (marked.length === 0) {
      words.textContent = 'No mistakes: every move kept the best result there was.';
    } else {
      words.textContent = marked.map((position) => verdictWords(position) + '.').join(' ');
    }
  }

  /** @param {Position} position */
  function positionWords(position) {
    if (position.to_move === null) return 'The game is over.';
    const best = position.best.map(cellName).join(', ');
    let text;
    if (exact) {
      text = position.to_move + ' to move ' + VALUE_WORDS[position.value || 'draw'] + ' with best play: ' + best + '.';
    } else {
      const found = position.forced ? 'a forced ' + position.forced + ' found'
        : 'score ' + (position.score !== null && position.score !== undefined && position.score > 0 ? '+' : '') + position.score;
      text = position.to_move + ' to move. The engine suggests ' + best + ' (' + found + ').';
    }
    if (position.played !== null) {
      text += ' Played: ' + cellName(position.played);
      if (exact && position.values) text += ', which ' + VALUE_WORDS[position.values[String(position.played)]];
      if (position.verdict === 'mistake' || position.verdict === 'blunder') text += ' \u2014 a ' + position.verdict;
      text += '.';
    }
    return text;
  }

  /** @param {number} step */
  function showPractice(step) {
    practicePly.value = String(step);
    const position = positions ? positions[step] : null;
    const over = position ? position.to_move === null : overAtEnd && step === page.moves.length;
    practice.disabled = over;
    practiceHelp.textContent = over ? 'The game is over in this position: step back to practise.' : practiceWords;
  }

  /** @param {number} step */
  function show(step) {
    shown = step;
    showPractice(step);
    const position = positions ? positions[step] : null;
    here.textContent = position ? positionWords(position) : '';
    const values = exact && showValues.checked && position ? position.values || {} : {};
    page.cells.forEach((cell, index) => {
      const value = values[String(index)];
      if (value) {
        cell.dataset.value = value;
        cell.dataset.valueWords = VALUE_WORDS[value];
        cell.setAttribute('aria-label', (cell.getAttribute('aria-label') || '') + ': ' + VALUE_WORDS[value]);
      } else {
        delete cell.dataset.value;
        delete cell.dataset.valueWords;
      }
    });
  }

  async function load() {
    try {
      const response = await fetch(panel?.dataset.url || '', { headers: { Accept: 'application/json' } });
      const body = await response.json();
      if (!response.ok) {
        status.textContent = body.message || 'The analysis is not available now: try again later.';
        return;
      }
      positions = /** @type {Position[]} */ (body.positions);
      exact = Boolean(body.exact);
    } catch (error) {
      status.textContent = 'The analysis could not be loaded: try again later.';
      return;
    }
    status.textContent = exact ? 'Exact: 3×3 is solved.' : 'A bounded search, not exact.';
    toggle.hidden = !exact;
    markMoves();
    page.redraw(); // the shown position again, now with its analysis (replay.js calls show)
  }

  showValues.addEventListener('change', () => page.redraw());
  load();
  return { show };
}
