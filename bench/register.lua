-- Sign-ups of new addresses, one per request (email verification off: each is a hash and a
-- session).
local counter = 0
local tag = 0
function setup(thread)
  tag = tag + 1
  thread:set("tag", tag)
end
function request()
  counter = counter + 1
  local body = string.format(
    '{"email":"storm-%s-%d-%d@example.com","password":"correct-horse-9"}',
    tostring(tag), math.random(1, 1000000000), counter)
  return wrk.format("POST", "/api/auth/register", {["Content-Type"] = "application/json"}, body)
end
