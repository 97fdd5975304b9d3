// Audible alarm cue: a short WebAudio beep, no audio files. The user
// toggles it (remembered per browser); browsers only allow sound after a
// user gesture, so the context is created on the first click.
const KEY = 'radtrack.sound';
let ctx = null;

export function soundEnabled() {
  return typeof localStorage === 'undefined' || localStorage.getItem(KEY) !== 'off';
}

export function setSoundEnabled(on) {
  localStorage.setItem(KEY, on ? 'on' : 'off');
  if (on) unlock();
}

export function unlock() {
  try {
    if (!ctx) ctx = new AudioContext();
    if (ctx.state === 'suspended') ctx.resume();
  } catch {
    ctx = null;
  }
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

if (typeof window !== 'undefined') {
  window.addEventListener('pointerdown', unlock, { once: true, capture: true });
  window.addEventListener('keydown', unlock, { once: true, capture: true });
}
