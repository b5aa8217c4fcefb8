/** Which kind of process a part is built for: the web (api) or a worker. */
export type Role = 'api' | 'worker';
