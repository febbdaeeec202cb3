/** `stile-sim [options]`: make the devices, print their paths, take commands from stdin. */
import { createInterface } from 'node:readline';
import { startSimGate, type SimGate } from '../sim-gate.js';
import { CONSOLE_HELP, createConsole, describePulse, type Print } from './console.js';
import { onStopSignal, printer } from './output.js';
import type { SimGateOptions } from '../sim-gate.js';

function watch(gate: SimGate, print: Print): void {
  gate.relay.events.on('pulse', (p) => print('pulse', describePulse(p), { ...p }));
  gate.idReader?.events.on('read', () => print('read', 'ID card read by the gate'));
  gate.display?.events.on('line', (l) => print('display', `display: ${l.text}`, { text: l.text, decision: l.decision ?? null }));
  const devices = [
    ['scanner', gate.scanner],
    ['idcard', gate.idReader],
    ['relay', gate.relay],
    ['sensor', gate.sensor],
    ['display', gate.display],
  ] as const;
  for (const [name, dev] of devices) {
    dev?.link?.on('unplugged', (reason) => {
      if (reason !== 'unplug') print('unplugged', `${name}: socat went away (${reason}); "replug ${name}" brings it back`, { device: name, reason });
    });
  }
}

export async function runInteractive(opts: SimGateOptions, flags: { json: boolean; stdin: boolean }): Promise<void> {
  const print = printer(flags.json);
  const gate = await startSimGate(opts);
  onStopSignal(() => gate.close());
  const banner = [
    `stile-sim: virtual gate hardware in ${opts.dir}`,
    ...Object.entries(gate.paths).map(([k, p]) => `  ${k.padEnd(8)} ${p}`),
    '',
    'gate.yaml:',
    gate.gateYaml(),
    flags.stdin ? CONSOLE_HELP : 'stdin ignored (--no-stdin); stop with SIGINT/SIGTERM',
  ];
  print('ready', banner.join('\n'), { dir: opts.dir, paths: gate.paths, channel: gate.channel, gateYaml: gate.gateYaml() });
  watch(gate, print);
  if (!flags.stdin) return;

  const run = createConsole(gate, print);
  const rl = createInterface({ input: process.stdin, terminal: false });
  let queue = Promise.resolve(true);
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    rl.close();
    void gate.close().finally(() => process.exit(0));
  };
  rl.on('line', (line) => {
    queue = queue.then(async (more) => {
      if (!more || done) return false;
      const keep = await run(line);
      if (!keep) finish();
      return keep;
    });
  });
  // End of input ends the session, once the commands before it have run.
  rl.on('close', () => void queue.then(finish));
}
