-- wrk script for scripts/bench-signin: POST /token with the refresh_token grant (RFC 6749 §6) and
-- HTTP Basic client authentication, each request presenting a different pre-seeded refresh token
-- exactly once (the server rotates it: the old one is consumed, a successor stored).
--   BENCH_AUTHORIZATION  the whole Authorization header value ("Basic <base64(id:secret)>")
--   BENCH_TOKENS_FILE    one raw refresh token per line (seeded into refresh_tokens)
--   BENCH_THREADS        wrk's -t: thread k of n takes lines k, k+n, k+2n, …
-- When a thread runs out of tokens it sends "exhausted", which the server refuses with 400: wrk
-- then reports Non-2xx and scripts/bench-signin fails the run.
local authorization = assert(os.getenv("BENCH_AUTHORIZATION"), "BENCH_AUTHORIZATION is not set")
local file = assert(os.getenv("BENCH_TOKENS_FILE"), "BENCH_TOKENS_FILE is not set")
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")

local prefix = "grant_type=refresh_token&refresh_token="

local counter = 0
function setup(thread)
  thread:set("thread_index", counter)
  counter = counter + 1
end

local tokens = {}
local next_token = 1

function init(args)
  local k = thread_index or 0
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == k and line ~= "" then
      tokens[#tokens + 1] = line
    end
    i = i + 1
  end
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = authorization
wrk.headers["Accept"] = "application/json"

function request()
  local token = tokens[next_token] or "exhausted"
  next_token = next_token + 1
  return wrk.format(nil, nil, nil, prefix .. token)
end

-- BENCH_PACE_MS (optional): a pause before each request on every connection, for a run below
-- saturation; the rate is about connections × 1000 / (pace + latency) per second, and wrk's
-- latencies do not include the pause.
local pace = tonumber(os.getenv("BENCH_PACE_MS") or "")
if pace then
  function delay()
    return pace
  end
end
