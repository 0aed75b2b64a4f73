-- wrk script for scripts/bench-signin: POST /token with the authorization_code grant (RFC 6749
-- §4.1.3) and HTTP Basic client authentication, each request redeeming a different pre-seeded
-- code exactly once.
--   BENCH_AUTHORIZATION  the whole Authorization header value ("Basic <base64(id:secret)>")
--   BENCH_TOKENS_FILE    one raw code per line (seeded into authorization_codes by the script)
--   BENCH_THREADS        wrk's -t: thread k of n takes lines k, k+n, k+2n, … so no two threads
--                        share a code
--   BENCH_REDIRECT_URI   the redirect_uri the codes were issued for (sent form-encoded)
-- When a thread runs out of codes it sends "exhausted", which the server refuses with 400: wrk
-- then reports Non-2xx and scripts/bench-signin fails the run instead of measuring errors.
local authorization = assert(os.getenv("BENCH_AUTHORIZATION"), "BENCH_AUTHORIZATION is not set")
local file = assert(os.getenv("BENCH_TOKENS_FILE"), "BENCH_TOKENS_FILE is not set")
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local redirect = os.getenv("BENCH_REDIRECT_URI") or "http://127.0.0.1:9/cb"

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local prefix = "grant_type=authorization_code&code="
local suffix = "&redirect_uri=" .. urlencode(redirect)

local counter = 0
function setup(thread)
  thread:set("thread_index", counter)
  counter = counter + 1
end

local codes = {}
local next_code = 1

function init(args)
  local k = thread_index or 0
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == k and line ~= "" then
      codes[#codes + 1] = line
    end
    i = i + 1
  end
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = authorization
wrk.headers["Accept"] = "application/json"

function request()
  local code = codes[next_code] or "exhausted"
  next_code = next_code + 1
  return wrk.format(nil, nil, nil, prefix .. code .. suffix)
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
