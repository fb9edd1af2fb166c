-- wrk script for the overload benchmark: batches of 100 new actions with unique ids, as cheap to
-- generate as possible so that one 2-core machine can offer several times the sustainable rate.
-- Usage: SHOWRUNNER_KEY=$(cat DATA/admin.key) wrk -t2 -c800 -d30s -s bench/overload.lua http://127.0.0.1:PORT
-- (the key is sent as "Authorization: Bearer"; start the server with its rate limit raised, as
-- bench/run-ingest.sh does, so that the overload measured is the server's and not the limiter's)
local counter = 0
-- thread_id is a global set per thread by setup() (a local here would shadow it).
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(1000 + thread_id)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  local key = os.getenv("SHOWRUNNER_KEY")
  if key then
    wrk.headers["Authorization"] = "Bearer " .. key
  end
end

local responses = { ok = 0, overloaded = 0, other = 0 }

function request()
  local at = os.date("!%Y-%m-%dT%H:%M:%SZ")
  local parts = {}
  for i = 1, 100 do
    counter = counter + 1
    parts[i] = string.format('{"id":"w%d-%d","player":"player-%d","type":"combat.kill","at":"%s","data":{"target":"dragon","damage":%d}}',
      thread_id, counter, math.random(100000), at, math.random(10000))
  end
  return wrk.format(nil, "/v1/actions", nil, '{"actions":[' .. table.concat(parts, ",") .. ']}')
end

function response(status, headers, body)
  if status == 200 then responses.ok = responses.ok + 1
  elseif status == 503 then responses.overloaded = responses.overloaded + 1
  else responses.other = responses.other + 1 end
end

function done(summary, latency, requests)
  print(string.format("requests=%d in %.1fs (%.0f/s, %.0f actions/s offered)",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    100 * summary.requests / (summary.duration / 1e6)))
end
