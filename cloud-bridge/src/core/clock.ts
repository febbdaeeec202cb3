/** The one source of "now" in cloud-bridge: every module takes it from its context, so tests can move time. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();
