/** The preallocated per-layer KV cache used with flashDecode. */
export {KVCache} from './kv_cache';
export type {KVCacheConfig} from './kv_cache';
export type {AppendPath} from './append';
