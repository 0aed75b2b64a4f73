-- wrk script for scripts/bench: POST /token with the client_credentials grant and HTTP Basic
-- client authentication (RFC 6749 §4.4, §2.3.1).
--   BENCH_AUTHORIZATION  the whole Authorization header value ("Basic <base64(id:secret)>")
--   BENCH_BODY           optional form body (default grant_type=client_credentials), e.g. to add
--                        an RFC 8707 resource parameter
local authorization = assert(os.getenv("BENCH_AUTHORIZATION"), "BENCH_AUTHORIZATION is not set")
local body = os.getenv("BENCH_BODY")
if body == nil or body == "" then
  body = "grant_type=client_credentials"
end

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = authorization
wrk.headers["Accept"] = "application/json"
