// @ts-check
/*
 * The room page's sounds: a move, your turn, the end of a game.
 *
 * The files ship in static/game/sounds/ (the page puts their URLs on the
 * toggle button, as data-sound-<name>). Nothing plays before the person has
 * clicked or pressed a key on the page: browsers refuse to play sound before
 * that anyway, and a page should not try. The toggle's choice is remembered
 * in localStorage; sound is on unless the person turned it off.
 */

const SOUND_KEY = 'tictac.sound';

/** @typedef {'move' | 'turn' | 'end'} SoundName */

export class Sounds {
  /** @param {HTMLButtonElement} toggle */
  constructor(toggle) {
    this.toggle = toggle;
    this.on = readChoice();
    this.interacted = false;
    /** @type {Map<SoundName, HTMLAudioElement>} */
    this.players = new Map();
    const heard = () => { this.interacted = true; };
    for (const type of ['pointerdown', 'keydown']) window.addEventListener(type, heard, { capture: true, once: true });
    toggle.addEventListener('click', () => this.setOn(!this.on));
    this.show();
  }

  /**
   * Play a sound, when sound is on and the person has interacted with the page.
   * @param {SoundName} name
   */
  play(name) {
    if (!this.on || !this.interacted) return;
    const audio = this.player(name);
    if (!audio) return;
    audio.currentTime = 0;
    this.toggle.dataset.lastSound = name;
    const playing = audio.play();
    // A browser that still refuses (no audio device, a policy) costs nothing but the sound.
    if (playing) playing.catch(() => {});
  }

  /** @param {boolean} on */
  setOn(on) {
    this.on = on;
    try { window.localStorage.setItem(SOUND_KEY, on ? 'on' : 'off'); } catch (_) { /* private mode: not remembered */ }
    this.show();
  }

  /** @private */
  show() {
    this.toggle.textContent = this.on ? 'Sound: on' : 'Sound: off';
    this.toggle.setAttribute('aria-pressed', String(this.on));
  }

  /**
   * The audio element of a sound, made on its first use.
   * @private
   * @param {SoundName} name
   * @returns {HTMLAudioElement | null}
   */
  player(name) {
    let audio = this.players.get(name);
    if (!audio) {
      const url = this.toggle.dataset['sound' + name[0].toUpperCase() + name.slice(1)];
      if (!url) return null;
      audio = new Audio(url);
      audio.dataset.sound = name;
      this.players.set(name, audio);
    }
    return audio;
  }
}

function readChoice() {
  try { return window.localStorage.getItem(SOUND_KEY) !== 'off'; } catch (_) { return true; }
}
