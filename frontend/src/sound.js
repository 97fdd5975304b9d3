// Audible alarm cue: a short WebAudio beep, no audio files. The user
// toggles it (remembered per browser). Browsers only allow sound after a
// user gesture on the page, and after login the page is new: until the
// first click or key press the alarm would be silent, so the top bar shows
// an "Enable sound" control until audio is unlocked (soundControl).
const KEY = 'radtrack.sound';
let ctx = null;
const events = new EventTarget();

export function soundEnabled() {
  return typeof localStorage === 'undefined' || localStorage.getItem(KEY) !== 'off';
}

export function setSoundEnabled(on) {
  localStorage.setItem(KEY, on ? 'on' : 'off');
  if (on) unlock();
  events.dispatchEvent(new Event('change'));
}

// audioUnlocked: the browser lets this page play sound now.
export function audioUnlocked() {
  return !!ctx && ctx.state === 'running';
}

export function onSoundChange(fn) {
  events.addEventListener('change', fn);
}

export function unlock() {
  try {
    if (!ctx) {
      ctx = new AudioContext();
      ctx.addEventListener('statechange', () => events.dispatchEvent(new Event('change')));
    }
    if (ctx.state === 'suspended') ctx.resume().catch(() => {});
  } catch {
    ctx = null;
  }
  events.dispatchEvent(new Event('change'));
}

// soundControl says what the top bar's sound button shows: "enable" (a
// visible warning that alarms are silent until clicked), or the mute
// toggle once the browser plays sound. Pure.
export function soundControl(enabled, unlocked) {
  if (!enabled) return { mode: 'toggle', text: 'Sound off', pressed: false, title: 'Alarm sound is muted: click to turn it on' };
  if (!unlocked) return { mode: 'enable', text: '⚠ Enable sound', pressed: false, title: 'The browser keeps alarms silent until you click here once' };
  return { mode: 'toggle', text: 'Sound on', pressed: true, title: 'Alarm sound is on: click to mute' };
}

// beep: critical alarms get a two-tone, others one tone.
export function beep(severity) {
  if (!soundEnabled() || !ctx) return false;
  const tones = severity === 'critical' ? [1046, 784, 1046, 784] : severity === 'alarm' ? [880, 880] : [660];
  let t = ctx.currentTime + 0.02;
  for (const f of tones) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = 'square';
    osc.frequency.value = f;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.15, t + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.16);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t);
    osc.stop(t + 0.18);
    t += 0.22;
  }
  return true;
}

// The first click or key press anywhere unlocks audio — except on the
// sound control itself, whose own click must see it still locked (else a
// click on "Enable sound" would land on the mute toggle and mute).
if (typeof window !== 'undefined') {
  const onGesture = (e) => {
    if (e.target && e.target.closest && e.target.closest('[data-sound-control]')) return;
    unlock();
    window.removeEventListener('pointerdown', onGesture, true);
    window.removeEventListener('keydown', onGesture, true);
  };
  window.addEventListener('pointerdown', onGesture, true);
  window.addEventListener('keydown', onGesture, true);
}
