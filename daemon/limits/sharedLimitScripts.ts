// The shared limit's Lua scripts. Each runs atomically in Redis and reads Redis's own
// clock (TIME), so engines on machines whose clocks disagree still share one bucket. The
// buckets are the same continuous token buckets as `tokenBucket.ts` (capacity C, rate
// (limit·0.99 − C)/window: no sliding window ever admits more than the limit), kept in one
// hash per limit: `rl ra rc` (requests: level, updated at, capacity) and `tl ta tc` (tokens).
// The capacity stored is the largest any engine asked for, and the rate follows from it,
// so engines whose largest requests differ still share one bound.

const prelude = `
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function load(key, kind, limit, cap, windowMs, now, cost)
  local v = redis.call('HMGET', key, kind .. 'l', kind .. 'a', kind .. 'c')
  local storedCap = tonumber(v[3])
  if storedCap and storedCap > cap then cap = storedCap end
  local s = { kind = kind, cap = cap, rate = (limit * 0.99 - cap) / windowMs, level = tonumber(v[1]), at = tonumber(v[2]) }
  if s.level == nil then s.level = cap; s.at = now end
  -- A request larger than the capacity may wait for the bucket to hold all of it.
  local ceiling = math.max(cap, cost)
  if now > s.at then
    s.level = math.min(ceiling, s.level + (now - s.at) * s.rate)
    s.at = now
  end
  return s
end

local function save(key, s)
  redis.call('HSET', key, s.kind .. 'l', tostring(s.level), s.kind .. 'a', tostring(s.at), s.kind .. 'c', tostring(s.cap))
end

local function waitMs(s, cost, now)
  local wait = 0
  if s.at > now then wait = s.at - now end
  local missing = cost - s.level
  if missing > 0 then wait = wait + math.ceil(missing / s.rate) end
  return wait
end
`;

/**
 * KEYS: bucket, hold, workers, queue, seen, costs. ARGV: rpm, tpm (0: none), request
 * capacity, token capacity, windowMs, cost in tokens, worker id, staleMs, staleWaitMs.
 *
 * Registers the worker, then takes one request and `cost` tokens if both buckets have them,
 * no cooldown is running, and the workers waiting longer (the queue, by when each began to
 * wait) are left what they need. The queue is what makes the shares fair: without it the
 * worker that was just admitted asks first again and wins every race. A waiter that has not
 * asked for `staleWaitMs` (it gave up, or died) loses its place.
 *
 * Returns { wait ms (0: admitted), live workers, requests level, tokens level } (levels −1: no bucket).
 */
export const acquireScript = `${prelude}
local now = nowMs()
local rpm, tpm = tonumber(ARGV[1]), tonumber(ARGV[2])
local windowMs, cost, me, staleMs, staleWaitMs = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[9])
redis.call('ZADD', KEYS[3], now, me)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - staleMs)
redis.call('PEXPIRE', KEYS[3], staleMs * 2)
local workers = redis.call('ZCARD', KEYS[3])

redis.call('ZADD', KEYS[5], now, me)
redis.call('ZADD', KEYS[4], 'NX', now, me)
redis.call('HSET', KEYS[6], me, cost)
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now - staleWaitMs)) do
  redis.call('ZREM', KEYS[4], gone)
  redis.call('ZREM', KEYS[5], gone)
  redis.call('HDEL', KEYS[6], gone)
end
-- By rank, not score: workers that began to wait in the same millisecond are still in
-- one order (by id), else each would wait for the other.
local rank = redis.call('ZRANK', KEYS[4], me)
local aheadRequests, aheadTokens = 0, 0
if rank > 0 then
  for _, other in ipairs(redis.call('ZRANGE', KEYS[4], 0, rank - 1)) do
    aheadRequests = aheadRequests + 1
    aheadTokens = aheadTokens + (tonumber(redis.call('HGET', KEYS[6], other)) or 0)
  end
end
for _, key in ipairs({ KEYS[4], KEYS[5], KEYS[6] }) do redis.call('PEXPIRE', key, staleMs * 2) end

local wait = 0
local holdUntil = tonumber(redis.call('GET', KEYS[2]) or '0')
if holdUntil > now then wait = holdUntil - now end
local r, t
if rpm > 0 then
  r = load(KEYS[1], 'r', rpm, tonumber(ARGV[3]), windowMs, now, 1)
  wait = math.max(wait, waitMs(r, aheadRequests + 1, now))
end
if tpm > 0 then
  t = load(KEYS[1], 't', tpm, tonumber(ARGV[4]), windowMs, now, cost)
  wait = math.max(wait, waitMs(t, aheadTokens + cost, now))
end
if wait == 0 then
  -- A request larger than the capacity leaves a debt for its excess (see tokenBucket.ts).
  if r then r.level = r.level - 1 end
  if t then t.level = t.level - cost - math.max(0, cost - t.cap) end
  redis.call('ZREM', KEYS[4], me)
  redis.call('ZREM', KEYS[5], me)
  redis.call('HDEL', KEYS[6], me)
end
if r then save(KEYS[1], r) end
if t then save(KEYS[1], t) end
redis.call('PEXPIRE', KEYS[1], windowMs * 2)
local rl, tl = -1, -1
if r then rl = math.floor(math.max(0, r.level)) end
if t then tl = math.floor(math.max(0, t.level)) end
return { wait, workers, rl, tl }
`;

/**
 * KEYS: bucket. ARGV: tpm, token capacity, windowMs, delta. Returns an over-reservation
 * (delta > 0) or charges an under-estimate (delta < 0) to the token bucket.
 */
export const adjustScript = `${prelude}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local now = nowMs()
local t = load(KEYS[1], 't', tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), now, 0)
t.level = math.min(t.cap, t.level + tonumber(ARGV[4]))
save(KEYS[1], t)
return 1
`;

/**
 * KEYS: bucket, hold. ARGV: rpm, tpm, request capacity, token capacity, windowMs, ms.
 * A 429's cooldown for every engine: nothing is admitted for `ms`, and both buckets start
 * empty when it ends (they do not refill during it), so no engine bursts at the reset.
 */
export const holdScript = `${prelude}
local now = nowMs()
local rpm, tpm, windowMs, ms = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[5]), tonumber(ARGV[6])
local untilMs = now + ms
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if untilMs > current then redis.call('SET', KEYS[2], tostring(untilMs), 'PX', ms) end
for _, b in ipairs({ { 'r', rpm, tonumber(ARGV[3]) }, { 't', tpm, tonumber(ARGV[4]) } }) do
  if b[2] > 0 then
    local s = load(KEYS[1], b[1], b[2], b[3], windowMs, now, 0)
    s.level = math.min(s.level, 0)
    s.at = math.max(s.at, untilMs)
    save(KEYS[1], s)
  end
end
redis.call('PEXPIRE', KEYS[1], windowMs * 2 + ms)
return untilMs - now
`;

/** KEYS: workers. ARGV: worker id, staleMs. Registers the worker; returns the live workers. */
export const heartbeatScript = `${prelude}
local now = nowMs()
local staleMs = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - staleMs)
redis.call('PEXPIRE', KEYS[1], staleMs * 2)
return redis.call('ZCARD', KEYS[1])
`;
