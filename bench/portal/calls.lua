-- wrk script for bench/run-portal.sh: GET /api/v1/calls with the session cookie, optionally paced.
--
-- Debian's wrk 4.1 has no -R (that is wrk2), so pacing uses wrk's delay() hook: each thread keeps
-- its own schedule, one request every THREADS/RATE seconds, and before each request delay() waits
-- until the next slot (never negative: a thread that fell behind sends at once and catches up).
-- The clock is clock_gettime(CLOCK_MONOTONIC) through LuaJIT's FFI. As in any closed-loop tool,
-- latency is measured from the moment a request is written, so time a request waited for a free
-- connection is not counted; the connection count is set so that a connection is nearly always free.
--
-- Environment: PRIVOX_SESSION (the privox_session cookie), PACED_RATE (requests/s over all threads;
-- 0 or unset: unpaced), PACED_THREADS (the -t given to wrk).
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } privox_timespec;
  int clock_gettime(int clock_id, privox_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("privox_timespec")
local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

wrk.method = "GET"
wrk.headers["Cookie"] = "privox_session=" .. (os.getenv("PRIVOX_SESSION") or "")
wrk.headers["Accept"] = "application/json"

local rate = tonumber(os.getenv("PACED_RATE") or "0") or 0
local threads = tonumber(os.getenv("PACED_THREADS") or "1") or 1

if rate > 0 then
  local interval_ms = 1000 * threads / rate
  local next_ms = nil
  function delay()
    local now = now_ms()
    if next_ms == nil then
      next_ms = now + math.random() * interval_ms
    else
      next_ms = next_ms + interval_ms
    end
    local wait = next_ms - now
    if wait < 0 then return 0 end
    return math.floor(wait + 0.5)
  end
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local non_2xx = summary.errors.status
  local socket_errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    "RESULT requests=%d seconds=%.1f rate=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f non_2xx=%d socket_errors=%d\n",
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000, non_2xx, socket_errors))
end
