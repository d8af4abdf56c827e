-- One POST, the same each time: BENCH_PATH, BENCH_BODY, BENCH_TYPE and, if set, BENCH_AUTH
-- (an Authorization header value).
wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH")
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = os.getenv("BENCH_TYPE") or "application/x-www-form-urlencoded"
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then
  wrk.headers["Authorization"] = auth
end
