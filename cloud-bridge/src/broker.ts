import { createServer, type Server } from 'node:net';

export interface EmbeddedBroker {
  port: number;
  close(): Promise<void>;
}

/**
 * A small in-process MQTT broker (Aedes) for the demo and a single-box install. Production
 * uses a real broker (Mosquitto, EMQX) with ACLs per gate.
 */
export async function startEmbeddedBroker(port: number, host = '127.0.0.1'): Promise<EmbeddedBroker> {
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        broker.close(() => server.close(() => resolve()));
      }),
  };
}
