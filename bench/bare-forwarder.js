// Baseline for the scan→relay figure: the least a gate can do on the same wires — read a
// line from the scanner pty, switch the relay board on, 50 ms later off. No parsing,
// no lookup, no journal. argv: <scanner path> <relay path>
import { SerialPort } from 'serialport';

const [scannerPath, relayPath] = process.argv.slice(2);
const ON = Buffer.from([0xa0, 0x01, 0x01, 0xa2]);
const OFF = Buffer.from([0xa0, 0x01, 0x00, 0xa1]);

const open = (path, baudRate) =>
  new Promise((resolve, reject) => {
    const port = new SerialPort({ path, baudRate, autoOpen: false });
    port.open((err) => (err ? reject(err) : resolve(port)));
  });

const scanner = await open(scannerPath, 9600);
const relay = await open(relayPath, 9600);
scanner.on('data', (chunk) => {
  if (!chunk.includes(0x0d) && !chunk.includes(0x0a)) return;
  relay.write(ON);
  setTimeout(() => relay.write(OFF), 50);
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
process.on('SIGTERM', () => {
  scanner.close();
  relay.close();
  process.exit(0);
});
