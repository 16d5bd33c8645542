-- wrk script of bench/run: one GraphQL POST per request, its variables drawn per request and
-- its caller identity unique per request (or from a small pool), so that no cache or
-- deduplication across callers flatters a candidate. Parameters come from the environment:
--
--   BENCH_BODY     the JSON body; "%ID%" in it is replaced by a random integer
--   BENCH_ID_MIN   the integers' range (inclusive)
--   BENCH_ID_MAX
--   BENCH_CALLERS  "unique" (a new Authorization per request) or a pool size ("16")
--   BENCH_DELAY_MS pause of each connection between its requests (0: as fast as possible)
--   BENCH_OUT      where done() writes its JSON summary
--
-- A response counts as an error when its status is not 200 or its body holds "errors".

local body = os.getenv("BENCH_BODY")
local id_min = tonumber(os.getenv("BENCH_ID_MIN") or "1")
local id_max = tonumber(os.getenv("BENCH_ID_MAX") or "1")
local callers = os.getenv("BENCH_CALLERS") or "unique"
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
local out = os.getenv("BENCH_OUT")

local threads = {}
local thread_counter = 0

function setup(thread)
  thread_counter = thread_counter + 1
  thread:set("thread_id", thread_counter)
  table.insert(threads, thread)
end

local sequence = 0
-- Global: done() reads it from each thread with thread:get.
errors = 0
local prefix

function init(args)
  math.randomseed(os.time() * 1000 + (thread_id or 0))
  prefix = "Bearer bench-" .. tostring(thread_id or 0) .. "-" .. tostring(math.random(1, 1e9)) .. "-"
end

function request()
  sequence = sequence + 1
  local caller
  if callers == "unique" then
    caller = prefix .. sequence
  else
    caller = "Bearer bench-pool-" .. math.random(1, tonumber(callers))
  end
  local text = body:gsub("%%ID%%", tostring(math.random(id_min, id_max)))
  return wrk.format("POST", "/graphql", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = caller,
  }, text)
end

function response(status, headers, text)
  if status ~= 200 or string.find(text, '"errors"', 1, true) then
    errors = errors + 1
  end
end

if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end

function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do
    failed = failed + (thread:get("errors") or 0)
  end
  local socket = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  local file = assert(io.open(out, "w"))
  file:write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "errors": %d, "socket_errors": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, failed + socket, socket,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
  file:close()
end
