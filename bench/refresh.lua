-- Refresh-token rotation, each session's chain followed: BENCH_TOKENS names a file with one
-- refresh token per line (one session each), shared out among BENCH_THREADS wrk threads. A
-- connection sends the token at the head of its thread's queue; each answer's new refresh
-- token goes back in, so every token is presented exactly once. Give more tokens than
-- connections: wrk asks for a request before any connection is open, and that token is lost.
local threads = 0

function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

function init(args)
  local n = tonumber(os.getenv("BENCH_THREADS") or "2")
  queue = {}
  local i = 0
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    if i % n == id then
      table.insert(queue, line)
    end
    i = i + 1
  end
end

function request()
  -- An empty queue means answers went missing (they show as errors); send a spent token.
  local token = table.remove(queue, 1) or "spent"
  return wrk.format("POST", "/api/auth/refresh", { ["Content-Type"] = "application/json" },
    '{"refresh_token":"' .. token .. '"}')
end

function response(status, headers, body)
  local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if token then
    table.insert(queue, token)
  end
end
