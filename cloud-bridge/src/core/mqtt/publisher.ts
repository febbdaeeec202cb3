/** What the publishing modules need from an MQTT client (a fake in unit tests). */
export interface Publisher {
  publish(topic: string, payload: string, opts: { qos: 0 | 1; retain?: boolean }): Promise<void>;
}
