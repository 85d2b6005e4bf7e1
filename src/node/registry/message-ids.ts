/**
 * Where the path's e-Gov message ids come from: per data directory (MessageIdAllocator, with the SQLite
 * log) or from the shared PostgreSQL (SharedMessageIdAllocator).
 */
export interface MessageIds {
  /** The next id for a message sent by `soggetto` (the sending party's code name). */
  next(soggetto: string): Promise<string>;
  /** Gives back what the allocator holds (a slot); ids issued stay issued. */
  release(): void;
}
