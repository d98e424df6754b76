-- wrk script for bench/api.py: POST a new campaign per request, with a unique Idempotency-Key.
-- Env: BENCH_PATH, BENCH_AUTH (empty for the bare view), BENCH_TAG (unique per run).
local counter = 0
local threads = 0
local path = os.getenv("BENCH_PATH")
local auth = os.getenv("BENCH_AUTH") or ""
local tag = os.getenv("BENCH_TAG")

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function request()
  counter = counter + 1
  local name = tag .. "-" .. tid .. "-" .. counter
  local headers = {["Content-Type"] = "application/json", ["Idempotency-Key"] = name}
  if auth ~= "" then headers["Authorization"] = auth end
  local body = '{"name":"' .. name .. '","channels":["mastodon"],"strategy":"Two posts a week."}'
  return wrk.format("POST", path, headers, body)
end
