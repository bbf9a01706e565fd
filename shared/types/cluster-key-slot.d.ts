// cluster-key-slot ships no types; ioredis uses it to route commands, and shared/redis.ts uses the
// same function so that our slot arithmetic is exactly the client's.
declare module 'cluster-key-slot' {
  /** The Redis Cluster hash slot (0..16383) of a key, honouring its `{hash tag}`. */
  function calculateSlot(key: string | Buffer): number;
  export = calculateSlot;
}
