/** The service's notion of now (epoch ms); injected so tests can move time. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();
